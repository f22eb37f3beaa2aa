package io.safedefaults.microapp.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpecBuilder;
import java.time.Duration;
import java.time.ZonedDateTime;
import org.junit.jupiter.api.Test;

/** The chart's empty Lease becomes one Fabric8 can read, and a Lease in use is never touched. */
class LeaderLeaseTest {
  static final Duration FIFTEEN = Duration.ofSeconds(15);

  @Test
  void anEmptyLeaseGetsAnUnheldReadableSpec() {
    for (LeaseSpec empty : new LeaseSpec[] {null, new LeaseSpec(), new LeaseSpecBuilder().withHolderIdentity("").build()}) {
      LeaseSpec s = LeaderLease.completed(empty, FIFTEEN);
      assertThat(s).isNotNull();
      assertThat(s.getLeaseDurationSeconds()).isEqualTo(15);
      assertThat(s.getAcquireTime()).isEqualTo(LeaderLease.EPOCH);
      assertThat(s.getRenewTime()).as("renewed at the epoch: expired, so any replica may take it").isEqualTo(LeaderLease.EPOCH);
      assertThat(s.getLeaseTransitions()).isZero();
      assertThat(s.getHolderIdentity()).as("nobody holds it").isNullOrEmpty();
    }
  }

  @Test
  void aLeaseThatCanBeReadIsLeftAlone() {
    ZonedDateTime now = ZonedDateTime.now();
    LeaseSpec held = new LeaseSpecBuilder().withHolderIdentity("microapp-operator-abc").withLeaseDurationSeconds(15)
        .withAcquireTime(now).withRenewTime(now).withLeaseTransitions(3).build();
    assertThat(LeaderLease.completed(held, FIFTEEN)).isNull();
  }

  @Test
  void aPartlyFilledLeaseKeepsWhatItHas() {
    ZonedDateTime then = ZonedDateTime.now().minusMinutes(3);
    LeaseSpec partial = new LeaseSpecBuilder().withHolderIdentity("old").withRenewTime(then).withLeaseTransitions(7).build();
    LeaseSpec s = LeaderLease.completed(partial, FIFTEEN);
    assertThat(s.getHolderIdentity()).isEqualTo("old");
    assertThat(s.getRenewTime()).isEqualTo(then);
    assertThat(s.getLeaseTransitions()).isEqualTo(7);
    assertThat(s.getAcquireTime()).isEqualTo(LeaderLease.EPOCH);
    assertThat(s.getLeaseDurationSeconds()).isEqualTo(15);
  }

  @Test
  void theHolderGivesTheLeaseUpAsFabric8Would() {
    ZonedDateTime acquired = ZonedDateTime.now().minusMinutes(5);
    ZonedDateTime now = ZonedDateTime.now();
    LeaseSpec held = new LeaseSpecBuilder().withHolderIdentity("pod-a").withLeaseDurationSeconds(10)
        .withAcquireTime(acquired).withRenewTime(now.minusSeconds(1)).withLeaseTransitions(4).build();
    LeaseSpec s = LeaderLease.released(held, "pod-a", now);
    assertThat(s).isNotNull();
    assertThat(s.getHolderIdentity()).as("nobody holds it, so a standby may take it at once").isNull();
    assertThat(s.getLeaseDurationSeconds()).isEqualTo(1);
    assertThat(s.getRenewTime()).isEqualTo(now);
    assertThat(s.getAcquireTime()).isEqualTo(now);
    assertThat(s.getLeaseTransitions()).as("a release is not a transition").isEqualTo(4);
  }

  @Test
  void aLeaseHeldByAnotherReplicaOrNobodyIsNeverReleased() {
    ZonedDateTime now = ZonedDateTime.now();
    LeaseSpec other = new LeaseSpecBuilder().withHolderIdentity("pod-b").withLeaseDurationSeconds(10)
        .withAcquireTime(now).withRenewTime(now).withLeaseTransitions(1).build();
    assertThat(LeaderLease.released(other, "pod-a", now)).isNull();
    assertThat(LeaderLease.released(new LeaseSpecBuilder(other).withHolderIdentity(null).build(), "pod-a", now)).isNull();
    assertThat(LeaderLease.released(new LeaseSpecBuilder(other).withHolderIdentity("").build(), "", now)).isNull();
    assertThat(LeaderLease.released(null, "pod-a", now)).isNull();
    assertThat(LeaderLease.released(other, "pod-b-2", now)).as("identity compared exactly").isNull();
  }
}
