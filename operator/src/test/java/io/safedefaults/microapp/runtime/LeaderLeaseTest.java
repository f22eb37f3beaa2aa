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
}
