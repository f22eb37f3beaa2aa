package io.safedefaults.microapp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroAppStatus;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;

/** {@code microapp_apps} counts the apps that exist at scrape time, not those seen at some reconcile. */
class OperatorMetricsTest {

  static MicroAppStatus status(int passed) {
    MicroAppStatus s = new MicroAppStatus();
    s.setChecklist(new MicroAppStatus.Checklist(passed, 9, List.of(), List.of()));
    return s;
  }

  static double apps(SimpleMeterRegistry registry, String checklist, String ready) {
    var gauge = registry.find("microapp_apps").tags("checklist", checklist, "ready", ready).gauge();
    return gauge == null ? 0 : gauge.value();
  }

  @Test
  void aDeletedAppLeavesTheCountAtTheNextScrape() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    OperatorMetrics metrics = new OperatorMetrics(registry);
    Set<String> existing = ConcurrentHashMap.newKeySet();
    existing.addAll(Set.of("team-a/notes", "team-a/board", "team-b/shop"));
    metrics.liveApps(() -> Set.copyOf(existing));
    metrics.observe("team-a", "notes", status(9), true);
    metrics.observe("team-a", "board", status(9), true);
    metrics.observe("team-b", "shop", status(6), false);
    assertThat(apps(registry, "9/9", "true")).isEqualTo(2);
    assertThat(apps(registry, "6/9", "false")).isEqualTo(1);

    // deleted: no reconcile of any app happens in between
    existing.remove("team-b/shop");
    existing.remove("team-a/board");
    assertThat(apps(registry, "6/9", "false")).as("the failing deleted app is no longer counted").isZero();
    assertThat(apps(registry, "9/9", "true")).isEqualTo(1);

    // an app of the same name created again is counted again once observed
    existing.add("team-b/shop");
    metrics.observe("team-b", "shop", status(9), true);
    assertThat(apps(registry, "9/9", "true")).isEqualTo(2);
  }
}
