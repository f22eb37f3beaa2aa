package io.safedefaults.microapp.sidecar.purge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

/** The retention cutoff: now (UTC, whole seconds) minus ttlDays days, as RFC 3339. */
class CutoffTest {
  private static String cutoff(String now, int ttlDays) {
    return Cutoff.format(Cutoff.of(Instant.parse(now), ttlDays));
  }

  @Test
  void isNowMinusWholeDaysInUtcWithWholeSeconds() {
    assertThat(cutoff("2025-03-01T10:15:30.999999999Z", 30)).isEqualTo("2025-01-30T10:15:30Z");
    assertThat(cutoff("2025-06-15T00:00:00Z", 1)).isEqualTo("2025-06-14T00:00:00Z");
    assertThat(cutoff("2025-06-15T12:00:00Z", 365)).isEqualTo("2024-06-15T12:00:00Z"); // no 29 February in between
  }

  @Test
  void theDayBoundaryIsDecidedByTheWholeSecondNotByTheMilliseconds() {
    assertThat(cutoff("2025-03-01T00:00:00.000Z", 30)).isEqualTo("2025-01-30T00:00:00Z");
    // a millisecond before midnight is still the previous day's last second, not rounded up
    assertThat(cutoff("2025-02-28T23:59:59.999Z", 30)).isEqualTo("2025-01-29T23:59:59Z");
  }

  @Test
  void countsLeapDaysAndYearEnds() {
    assertThat(cutoff("2024-03-01T12:00:00Z", 1)).isEqualTo("2024-02-29T12:00:00Z");
    assertThat(cutoff("2024-03-01T12:00:00Z", 30)).isEqualTo("2024-01-31T12:00:00Z");
    assertThat(cutoff("2025-01-01T00:00:00Z", 1)).isEqualTo("2024-12-31T00:00:00Z");
  }

  @Test
  void theClocksZoneDoesNotMatterNotEvenOnADaylightSavingDay() {
    Instant now = Instant.parse("2025-03-09T12:00:00Z"); // US clocks jumped that night
    Instant utc = Cutoff.of(Clock.fixed(now, ZoneId.of("UTC")), 1);
    Instant ny = Cutoff.of(Clock.fixed(now, ZoneId.of("America/New_York")), 1);
    assertThat(ny).isEqualTo(utc).isEqualTo(Instant.parse("2025-03-08T12:00:00Z"));
  }

  @Test
  void isRfc3339InUtc() {
    String s = cutoff("2025-03-01T10:15:30.5Z", 30);
    assertThat(s).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");
    assertThat(OffsetDateTime.parse(s).toInstant()).isEqualTo(Instant.parse("2025-01-30T10:15:30Z"));
  }

  @Test
  void refusesLessThanOneDay() {
    assertThatThrownBy(() -> Cutoff.of(Instant.now(), 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Cutoff.of(Instant.now(), -1)).isInstanceOf(IllegalArgumentException.class);
  }
}
