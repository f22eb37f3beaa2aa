package io.safedefaults.microapp.sidecar.ratelimit;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * In-memory Bucket4j buckets for one replica (the default). Idle buckets are dropped after two
 * minutes, when they would be full again anyway, so memory follows active clients, not all clients
 * ever seen.
 */
public final class LocalRateLimiter implements RateLimiter {
  private static final long IDLE_NANOS = 120_000_000_000L;
  private final int maxBuckets;

  private record Entry(Bucket bucket, long[] lastUsed) {}

  private final ConcurrentHashMap<String, Entry> buckets = new ConcurrentHashMap<>();

  public LocalRateLimiter() {
    this(200_000);
  }

  /** @param maxBuckets how many clients are tracked one by one (about 1 KB each) */
  LocalRateLimiter(int maxBuckets) {
    this.maxBuckets = maxBuckets;
  }

  @Override
  public CompletionStage<RateLimitDecision> tryConsume(LimitSpec spec, String key) {
    return CompletableFuture.completedFuture(consume(spec, key));
  }

  public RateLimitDecision consume(LimitSpec spec, String key) {
    if (buckets.size() > maxBuckets) {
      evictIdle();
    }
    String id = spec.name() + "|" + key;
    if (buckets.size() > maxBuckets && !buckets.containsKey(id)) {
      // Still full of active clients (a flood from many addresses): newcomers share one bucket, so
      // memory stays bounded and the flood is limited as one client.
      id = spec.name() + "|overflow";
    }
    Entry e = buckets.computeIfAbsent(id, k -> new Entry(newBucket(spec), new long[1]));
    e.lastUsed()[0] = System.nanoTime();
    ConsumptionProbe probe = e.bucket().tryConsumeAndReturnRemaining(1);
    return RateLimitDecision.of(spec, probe);
  }

  private static Bucket newBucket(LimitSpec spec) {
    var builder = Bucket.builder();
    for (io.github.bucket4j.Bandwidth b : spec.bucketConfiguration().getBandwidths()) {
      builder.addLimit(b);
    }
    return builder.build();
  }

  /** Drops buckets not used for two minutes; called on overflow and periodically. */
  public void evictIdle() {
    long now = System.nanoTime();
    buckets.entrySet().removeIf(en -> now - en.getValue().lastUsed()[0] > IDLE_NANOS);
  }

  public int size() {
    return buckets.size();
  }
}
