package io.safedefaults.microapp.sidecar.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** One Redis connection per sidecar, shared by the rate limiter and the session revocations. */
public final class SharedRedis implements AutoCloseable {
  private final RedisClient client;
  private final StatefulRedisConnection<byte[], byte[]> connection;

  public SharedRedis(String url, String password) {
    RedisURI uri = RedisURI.create(url);
    if (password != null) {
      uri.setAuthentication(password.toCharArray());
    }
    uri.setTimeout(Duration.ofSeconds(2));
    this.client = RedisClient.create(uri);
    try {
      this.connection = client.connect(ByteArrayCodec.INSTANCE);
    } catch (RuntimeException e) {
      client.shutdown(0, 2, TimeUnit.SECONDS);
      throw e;
    }
  }

  public StatefulRedisConnection<byte[], byte[]> connection() {
    return connection;
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(0, 2, TimeUnit.SECONDS);
  }
}
