package io.safedefaults.microapp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.safedefaults.microapp.api.MicroAppStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What the chart's default alerts (helm/.../templates/prometheusrule.yaml) read from the operator:
 * every microapp_* name the rules use is one the operator serves, in Prometheus' text format, and
 * the gauges count existing apps by failing item and failed purge without naming any app.
 */
class AlertMetricsTest {
  private static final Path RULES = Path.of(System.getProperty("repo.dir", ".."),
      "helm/microapp-operator/templates/prometheusrule.yaml");

  static MicroAppStatus status(List<String> failing, String purge) {
    MicroAppStatus s = new MicroAppStatus();
    s.setChecklist(new MicroAppStatus.Checklist(9 - failing.size(), 9, failing, List.of()));
    if (purge != null) {
      s.setRetention(new MicroAppStatus.RetentionStatus("0 3 * * *", "30d", null, "notes-purge-1", purge, null, null,
          purge.equals("Failed") ? "the app answered 500" : null));
    }
    return s;
  }

  @Test
  void everyOperatorMetricTheAlertsUseIsServed() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    OperatorMetrics metrics = new OperatorMetrics(registry);
    metrics.observe("team-a", "notes", status(List.of("tlsAndHsts"), "Failed"), false);
    metrics.reconcileError("ApplyFailed");
    metrics.sealingKeysAvailable(() -> false);
    String scrape = registry.scrape();
    Set<String> used = new TreeSet<>();
    Matcher m = Pattern.compile("\\b(microapp_[a-z_]+)").matcher(Files.readString(RULES));
    while (m.find()) {
      used.add(m.group(1));
    }
    assertThat(used).as("metric names in %s", RULES).contains("microapp_failing_defaults", "microapp_purge_failing",
        "microapp_sealing_keys_available", "microapp_reconcile_errors_total");
    for (String name : used) {
      assertThat(scrape).as(name).containsPattern("(?m)^" + name + "[{ ]");
    }
    assertThat(scrape).doesNotContain("notes", "team-a");
  }

  @Test
  void failingItemsAndFailedPurgesAreCountedForExistingAppsOnly() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    OperatorMetrics metrics = new OperatorMetrics(registry);
    Set<String> existing = ConcurrentHashMap.newKeySet();
    existing.addAll(Set.of("a/one", "a/two", "b/three"));
    metrics.liveApps(() -> Set.copyOf(existing));
    metrics.observe("a", "one", status(List.of("tlsAndHsts", "minimalRetention"), "Failed"), false);
    metrics.observe("a", "two", status(List.of("tlsAndHsts"), "Succeeded"), false);
    metrics.observe("b", "three", status(List.of(), null), true);
    assertThat(failing(registry, "tlsAndHsts")).isEqualTo(2);
    assertThat(failing(registry, "minimalRetention")).isEqualTo(1);
    assertThat(registry.get("microapp_purge_failing").gauge().value()).isEqualTo(1);

    // fixed: the item stops counting at the app's next observation
    metrics.observe("a", "two", status(List.of(), "Succeeded"), true);
    assertThat(failing(registry, "tlsAndHsts")).isEqualTo(1);
    // deleted: gone at the next scrape, before any reconcile
    existing.remove("a/one");
    assertThat(failing(registry, "tlsAndHsts")).isZero();
    assertThat(failing(registry, "minimalRetention")).isZero();
    assertThat(registry.get("microapp_purge_failing").gauge().value()).isZero();
  }

  private static double failing(PrometheusMeterRegistry registry, String item) {
    return registry.get("microapp_failing_defaults").tag("item", item).gauge().value();
  }
}
