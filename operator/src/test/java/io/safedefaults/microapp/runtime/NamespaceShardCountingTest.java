package io.safedefaults.microapp.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The running reconciles a handover waits for, counted from JOSDK's execution start and end.
 * JOSDK 5.2.3 also reports ends of executions that never started (an app already gone from the
 * cache, a delete event): counted against the resource they name, a namespace's count went below
 * zero and the handover waited forever (found by operator/bench/shards.sh).
 */
class NamespaceShardCountingTest {
  private final NamespaceShard shard = new NamespaceShard(null, "a", "safedefaults.io/shard=a", "microapp-system",
      "microapp-system", "microapp-operator-a", Clock.systemUTC());
  private final Metrics metrics = shard.counting(Metrics.NOOP);

  private static HasMetadata in(String ns) {
    return new ConfigMapBuilder().withNewMetadata().withName("app").withNamespace(ns).endMetadata().build();
  }

  @Test
  void anEndWithoutAStartCountsNothing() {
    metrics.reconciliationExecutionFinished(in("moving"), Map.of());
    metrics.reconciliationExecutionFinished(null, Map.of());
    assertThat(shard.runningIn("moving")).isZero();
    metrics.reconciliationExecutionStarted(in("moving"), Map.of());
    assertThat(shard.runningIn("moving")).isEqualTo(1);
    metrics.reconciliationExecutionFinished(in("moving"), Map.of());
    assertThat(shard.runningIn("moving")).isZero();
    metrics.reconciliationExecutionFinished(in("moving"), Map.of());
    assertThat(shard.runningIn("moving")).isZero();
  }

  @Test
  void interleavedExecutionsOnManyThreadsReturnToZero() throws Exception {
    Random random = new Random(3);
    List<Thread> threads = new ArrayList<>();
    CountDownLatch allStarted = new CountDownLatch(40);
    CountDownLatch finish = new CountDownLatch(1);
    for (int t = 0; t < 40; t++) {
      String ns = "ns-" + random.nextInt(3);
      boolean spurious = random.nextBoolean();
      Thread thread = new Thread(() -> {
        if (spurious) {
          metrics.reconciliationExecutionFinished(in(ns), Map.of()); // JOSDK's unpaired end
        }
        metrics.reconciliationExecutionStarted(in(ns), Map.of());
        allStarted.countDown();
        try {
          finish.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        metrics.reconciliationExecutionFinished(in(ns), Map.of());
      });
      threads.add(thread);
      thread.start();
    }
    assertThat(allStarted.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(shard.runningIn("ns-0") + shard.runningIn("ns-1") + shard.runningIn("ns-2")).isEqualTo(40);
    finish.countDown();
    for (Thread thread : threads) {
      thread.join();
    }
    for (String ns : List.of("ns-0", "ns-1", "ns-2")) {
      assertThat(shard.runningIn(ns)).as(ns).isZero();
    }
  }
}
