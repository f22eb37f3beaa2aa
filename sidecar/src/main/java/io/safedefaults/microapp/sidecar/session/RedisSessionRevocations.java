package io.safedefaults.microapp.sidecar.session;

import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Revocations shared by all replicas of an app through Redis: a sign-out on one pod ends the
 * session on every pod. Each revocation is also kept locally, so the replica that signed the user
 * out refuses the old cookie even while Redis is away. When Redis does not answer within 250 ms a
 * check falls back to the local set (availability over cross-replica revocation, as for rate
 * limits); each fallback is counted.
 */
public final class RedisSessionRevocations implements SessionRevocations {
  private static final byte[] ONE = {'1'};
  private final StatefulRedisConnection<byte[], byte[]> connection;
  private final String prefix;
  private final LocalSessionRevocations local;
  private final Clock clock;
  private final Consumer<Throwable> onFallback;

  public RedisSessionRevocations(StatefulRedisConnection<byte[], byte[]> connection, String prefix,
      LocalSessionRevocations local, Clock clock, Consumer<Throwable> onFallback) {
    this.connection = connection;
    this.prefix = prefix;
    this.local = local;
    this.clock = clock;
    this.onFallback = onFallback;
  }

  @Override
  public CompletionStage<Void> revoke(String sessionId, long expiresAtEpochSecond) {
    String hashed = LocalSessionRevocations.key(sessionId);
    local.rememberKey(hashed, expiresAtEpochSecond);
    long ttl = expiresAtEpochSecond - clock.millis() / 1000;
    if (ttl <= 0) {
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
    return connection.async().set(redisKey(hashed), ONE, SetArgs.Builder.ex(ttl)).toCompletableFuture()
        .orTimeout(250, TimeUnit.MILLISECONDS)
        .handle((ok, e) -> {
          if (e != null) {
            onFallback.accept(e);
          }
          return null;
        });
  }

  @Override
  public CompletionStage<Boolean> isRevoked(String sessionId) {
    String hashed = LocalSessionRevocations.key(sessionId); // once per request: both stores use the hash
    if (local.revokedHereKey(hashed)) {
      return java.util.concurrent.CompletableFuture.completedFuture(true);
    }
    return connection.async().exists(redisKey(hashed)).toCompletableFuture()
        .orTimeout(250, TimeUnit.MILLISECONDS)
        .handle((n, e) -> {
          if (e != null) {
            onFallback.accept(e);
            return false;
          }
          return n != null && n > 0;
        });
  }

  private byte[] redisKey(String hashed) {
    return ("microapp:revoked:" + prefix + ":" + hashed).getBytes(StandardCharsets.UTF_8);
  }
}
