package io.safedefaults.microapp.sidecar.purge;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/**
 * The retention cutoff (checklist 8): now in UTC, truncated to whole seconds, minus ttlDays days of
 * exactly 24 hours (UTC has no daylight-saving days). Data strictly older than the cutoff is purged.
 */
public final class Cutoff {
  private Cutoff() {}

  public static Instant of(Clock clock, int ttlDays) {
    return of(clock.instant(), ttlDays);
  }

  public static Instant of(Instant now, int ttlDays) {
    if (ttlDays < 1) {
      throw new IllegalArgumentException("ttlDays must be at least 1");
    }
    return now.truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofDays(ttlDays));
  }

  /** RFC 3339 in UTC with whole seconds, e.g. {@code 2025-01-31T00:00:00Z}. */
  public static String format(Instant cutoff) {
    return DateTimeFormatter.ISO_INSTANT.format(cutoff.truncatedTo(ChronoUnit.SECONDS));
  }
}
