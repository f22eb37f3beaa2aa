package io.safedefaults.microapp.sidecar.ratelimit;

import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.AsyncProxyManager;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Bucket4j buckets in Redis, shared by all replicas of an app, so adding pods does not multiply a
 * user's budget (checklist 4). Keys are namespaced by the app's prefix and expire once a bucket
 * would be full again. When Redis does not answer within 250 ms the replica falls back to its
 * local buckets: limits stay on (per replica) rather than the app going down with Redis.
 */
public final class RedisRateLimiter implements RateLimiter {
  private final AsyncProxyManager<byte[]> buckets;
  private final String prefix;
  private final LocalRateLimiter fallback;
  private final Consumer<Throwable> onFallback;

  public RedisRateLimiter(StatefulRedisConnection<byte[], byte[]> connection, String prefix, LocalRateLimiter fallback,
      Consumer<Throwable> onFallback) {
    this.buckets = Bucket4jLettuce.casBasedBuilder(connection)
        .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(10)))
        .build()
        .asAsync();
    this.prefix = prefix;
    this.fallback = fallback;
    this.onFallback = onFallback;
  }

  @Override
  public CompletionStage<RateLimitDecision> tryConsume(LimitSpec spec, String key) {
    byte[] redisKey = ("microapp:rl:" + prefix + ":" + spec.name() + ":" + key).getBytes(StandardCharsets.UTF_8);
    return buckets.builder()
        .build(redisKey, () -> CompletableFuture.completedFuture(spec.bucketConfiguration()))
        .tryConsumeAndReturnRemaining(1)
        .orTimeout(250, TimeUnit.MILLISECONDS)
        .thenApply(probe -> RateLimitDecision.of(spec, probe))
        .exceptionally(e -> {
          onFallback.accept(e);
          return fallback.consume(spec, key);
        });
  }
}
