package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.safedefaults.microapp.runtime.LeaderLease;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A planned stop gives the leader Lease up even when the replica's own leader elector renews it at
 * the same moment (its last renewal in flight when the operator stopped): the release's write then
 * meets a 409, reads again and gives up the Lease that is still its own. Seen in the chart's e2e as
 * a Lease still held by a stopped replica.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class LeaseReleaseApiServerTest {
  static KubernetesClient client;

  @Test
  void aReleaseRacingItsOwnRenewalsStillGivesTheLeaseUp() throws Exception {
    TestCluster.restrictedNamespace(client, "microapp-system");
    for (int round = 0; round < 15; round++) {
      String name = "lease-" + round;
      client.resource(new LeaseBuilder().withNewMetadata().withName(name).withNamespace("microapp-system").endMetadata()
          .withNewSpec().withHolderIdentity("replica-a").withLeaseDurationSeconds(15).withRenewTime(ZonedDateTime.now())
          .endSpec().build()).create();
      AtomicBoolean stop = new AtomicBoolean();
      // replica-a's renewer: rewrites its own Lease as long as it holds it, every 10 ms (a real
      // elector renews every few seconds: this makes the race of the stop likely, not certain)
      Thread renewer = new Thread(() -> {
        while (!stop.get()) {
          try {
            Thread.sleep(10);
          } catch (InterruptedException e) {
            return;
          }
          Lease l = client.leases().inNamespace("microapp-system").withName(name).get();
          if (l == null || !"replica-a".equals(l.getSpec().getHolderIdentity())) {
            return;
          }
          l.getSpec().setRenewTime(ZonedDateTime.now());
          try {
            client.resource(l).update();
          } catch (KubernetesClientException e) {
            // 409: the release (or nothing) got there first; the next read says who holds it
          }
        }
      });
      renewer.start();
      Thread.sleep(20);
      boolean released = LeaderLease.release(client, "microapp-system", name, "replica-a", Clock.systemUTC());
      stop.set(true);
      renewer.join();
      assertThat(released).as("round %d", round).isTrue();
      assertThat(client.leases().inNamespace("microapp-system").withName(name).get().getSpec().getHolderIdentity())
          .as("round %d: nobody holds the Lease after the release", round).isNull();
    }
    // and another replica's Lease is never released in its name
    client.resource(new LeaseBuilder().withNewMetadata().withName("other").withNamespace("microapp-system").endMetadata()
        .withNewSpec().withHolderIdentity("replica-b").withLeaseDurationSeconds(15).endSpec().build()).create();
    assertThat(LeaderLease.release(client, "microapp-system", "other", "replica-a", Clock.systemUTC())).isFalse();
    assertThat(client.leases().inNamespace("microapp-system").withName("other").get().getSpec().getHolderIdentity())
        .isEqualTo("replica-b");
  }
}
