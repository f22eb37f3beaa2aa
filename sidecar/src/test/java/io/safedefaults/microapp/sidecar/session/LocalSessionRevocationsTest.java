package io.safedefaults.microapp.sidecar.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A sign-out is remembered exactly as long as the cookie it kills could have lived. */
class LocalSessionRevocationsTest {
  final AtomicLong now = new AtomicLong(1_800_000_000L);
  final Clock clock = new Clock() {
    @Override public ZoneId getZone() { return ZoneOffset.UTC; }
    @Override public Clock withZone(ZoneId zone) { return this; }
    @Override public Instant instant() { return Instant.ofEpochSecond(now.get()); }
  };

  @Test
  void aRevokedSessionStaysRevokedUntilItsCookieWouldHaveExpired() {
    LocalSessionRevocations r = new LocalSessionRevocations(clock);
    r.revoke("sid-a", now.get() + 3600);
    assertThat(r.isRevoked("sid-a").toCompletableFuture().join()).isTrue();
    assertThat(r.isRevoked("sid-b").toCompletableFuture().join()).isFalse();
    now.addAndGet(3599);
    assertThat(r.revokedHere("sid-a")).isTrue();
    now.addAndGet(1);
    assertThat(r.revokedHere("sid-a")).isFalse();
  }

  @Test
  void expiredRevocationsAreDroppedAsNewOnesArriveSoMemoryFollowsLiveSessions() {
    LocalSessionRevocations r = new LocalSessionRevocations(clock);
    for (int i = 0; i < 1000; i++) {
      r.revoke("old-" + i, now.get() + 60);
    }
    r.revoke("already-expired", now.get());
    assertThat(r.size()).isEqualTo(1000);
    now.addAndGet(61);
    for (int i = 0; i < 100; i++) {
      r.revoke("new-" + i, now.get() + 60);
    }
    assertThat(r.size()).isLessThan(200);
    assertThat(r.revokedHere("new-99")).isTrue();
  }

  @Test
  void sessionIdsAreStoredHashed() {
    assertThat(LocalSessionRevocations.key("sid-a")).doesNotContain("sid-a").hasSize(43)
        .isEqualTo(LocalSessionRevocations.key("sid-a")).isNotEqualTo(LocalSessionRevocations.key("sid-b"));
  }
}
