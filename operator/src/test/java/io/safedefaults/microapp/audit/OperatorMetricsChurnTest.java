package io.safedefaults.microapp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * App churn must not grow the registry: a meter per app (or per app and score) would stay in it
 * after the app is deleted, which is what the memory benchmark (operator/bench/memory.sh) watches
 * as the count of Prometheus series.
 */
class OperatorMetricsChurnTest {

  @Test
  void meterCountDependsOnScoresAndReasonsNotOnApps() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    OperatorMetrics metrics = new OperatorMetrics(registry);
    int afterFirstRound = 0;
    for (int round = 1; round <= 5; round++) {
      for (int i = 0; i < 200; i++) {
        metrics.observe("team-" + (i % 4), "r" + round + "-app-" + i,
            OperatorMetricsTest.status(5 + i % 5), i % 3 == 0);
        metrics.reconcileError(i % 2 == 0 ? "ApplyFailed" : "NameTaken");
      }
      metrics.retain(Set.of());
      if (round == 1) {
        afterFirstRound = registry.getMeters().size();
      }
      assertThat(registry.getMeters()).as("meters after round %d", round).hasSize(afterFirstRound);
    }
    // 5 scores x 2 readiness values seen, 2 error reasons, microapp_purge_failing (one series); no
    // microapp_failing_defaults here (no item fails), whose series are one per checklist item at most
    assertThat(afterFirstRound).isLessThanOrEqualTo(10 + 2 + 1);
    assertThat(OperatorMetricsTest.apps(registry, "9/9", "true")).as("every app was deleted").isZero();
  }
}
