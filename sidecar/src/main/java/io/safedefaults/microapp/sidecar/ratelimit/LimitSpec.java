package io.safedefaults.microapp.sidecar.ratelimit;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConfigurationBuilder;
import java.time.Duration;

/**
 * One kind of budget: {@code limit} requests refilled evenly over {@code period}, optionally
 * capped at {@code burstPerSecond} (the per-IP default: 100/min, at most 10 in one second).
 *
 * @param name short label for headers, metrics and the audit log, e.g. "ip", "user", "path:/export"
 */
public record LimitSpec(String name, int limit, Duration period, int burstPerSecond) {

  public static LimitSpec perMinute(String name, int limit, int burstPerSecond) {
    return new LimitSpec(name, limit, Duration.ofMinutes(1), burstPerSecond);
  }

  public BucketConfiguration bucketConfiguration() {
    ConfigurationBuilder b = BucketConfiguration.builder()
        .addLimit(Bandwidth.builder().capacity(limit).refillGreedy(limit, period).build());
    if (burstPerSecond > 0) {
      b.addLimit(Bandwidth.builder().capacity(burstPerSecond).refillGreedy(burstPerSecond, Duration.ofSeconds(1)).build());
    }
    return b.build();
  }
}
