package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Namespace;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * "The operator never writes when nothing changed" (DESIGN.md), measured with the API server's
 * own request counters: a converged app survives resyncs (the operator runs with a 10 s resync)
 * and a restart of the operator's pod without a single write to what it manages. Runs first,
 * while nothing else in the cluster is settling.
 */
@Order(1)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QuietResyncIT extends E2ETestBase {

  static final String APP = "where2eat";
  static String ns;

  @BeforeAll
  static void converge() {
    Assumptions.assumeTrue(Env.measureWrites(),
        "API write counters are cluster-wide; set E2E_MEASURE_WRITES=true to measure on a shared cluster");
    ns = newNamespace("quiet");
    applyExampleIn("where2eat.yaml", ns).orFail();
    awaitReady(ns, APP, ExamplesIT.READY);
    awaitSettled();
  }

  @Test
  @Order(1)
  void resyncOfAConvergedAppWritesNothing() {
    ApiWriteCounter.Snapshot before = e2e.writeCounter().snapshot();
    sleep(Duration.ofSeconds(20)); // two resync periods: nothing else may happen meanwhile
    ApiWriteCounter.Snapshot after = e2e.writeCounter().snapshot();
    Map<String, Long> writes = after.operatorWritesSince(before);
    assertThat(writes).as("API writes to operator-managed resources during 20 s of resyncs (all writes: %s); operator log tail:\n%s",
        after.since(before, java.util.Set.of()), operator().logTail(30)).isEmpty();
    assertThat(conditionStatus(microApp(ns, APP), "Ready")).isEqualTo("True");
  }

  @Test
  @Order(2)
  void restartReconcilesWithoutRewritingConvergedObjects() {
    ApiWriteCounter.Snapshot before = e2e.writeCounter().snapshot();
    operator().restart();
    // the new pod leads once the old one's Lease has run out, then reconciles every app
    operator().awaitLeader(Duration.ofSeconds(60));
    sleep(Duration.ofSeconds(15));
    ApiWriteCounter.Snapshot after = e2e.writeCounter().snapshot();
    Map<String, Long> writes = after.operatorWritesSince(before);
    assertThat(writes).as("API writes to operator-managed resources across an operator restart (all writes: %s); operator log tail:\n%s",
        after.since(before, java.util.Set.of()), operator().logTail(30)).isEmpty();
    assertThat(conditionStatus(microApp(ns, APP), "Ready")).isEqualTo("True");
  }

  /**
   * Waits until nothing else is still happening: namespaces of earlier tests are gone and the
   * managed resource types saw no write for 5 s (late Deployment status updates, the namespace's
   * kube-root-ca.crt ConfigMap, ...). Bounded at 60 s; a churning operator then fails the test itself.
   */
  static void awaitSettled() {
    await("e2e namespaces of earlier tests deleted").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(2))
        .until(() -> client().namespaces().withLabel("app.kubernetes.io/part-of", "microapp-e2e").list().getItems().stream()
            .map(Namespace::getStatus).noneMatch(s -> s != null && "Terminating".equals(s.getPhase())));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    ApiWriteCounter.Snapshot prev = e2e.writeCounter().snapshot();
    while (System.nanoTime() < deadline) {
      sleep(Duration.ofSeconds(5));
      ApiWriteCounter.Snapshot now = e2e.writeCounter().snapshot();
      if (now.operatorWritesSince(prev).isEmpty()) {
        return;
      }
      prev = now;
    }
  }

  static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
