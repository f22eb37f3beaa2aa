package io.safedefaults.microapp.sidecar.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.http.ForwardedHeaders;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** One IPv6 /64 is one client for the per-IP limit, and the limiter's memory stays bounded. */
class PerIpKeyTest {
  @Test
  void everyAddressOfOneSlash64SharesABudgetAndOtherPrefixesDoNot() throws Exception {
    long seed = Long.getLong("ipkey.seed", System.nanoTime());
    Random random = new Random(seed);
    Set<String> prefixes = new HashSet<>();
    for (int n = 0; n < 500; n++) {
      byte[] a = new byte[16];
      random.nextBytes(a);
      a[0] = (byte) 0x20; // global unicast, never IPv4-mapped
      byte[] sibling = a.clone();
      for (int i = 8; i < 16; i++) {
        sibling[i] = (byte) random.nextInt(256);
      }
      String key = ForwardedHeaders.rateLimitKey(InetAddress.getByAddress(a).getHostAddress());
      assertThat(ForwardedHeaders.rateLimitKey(InetAddress.getByAddress(sibling).getHostAddress()))
          .as("seed %d", seed).isEqualTo(key);
      prefixes.add(key);
    }
    assertThat(prefixes).as("distinct /64s stay distinct (seed %d)", seed).hasSize(500);
    assertThat(ForwardedHeaders.rateLimitKey("203.0.113.9")).isEqualTo("203.0.113.9");
    assertThat(ForwardedHeaders.rateLimitKey("::ffff:203.0.113.9")).isEqualTo("203.0.113.9");
  }

  @Test
  void aFloodFromManyAddressesSharesOneBucketOnceTheTableIsFull() {
    LocalRateLimiter limiter = new LocalRateLimiter(100);
    LimitSpec spec = LimitSpec.perMinute("ip", 10, 5);
    for (int i = 0; i < 5_000; i++) {
      limiter.consume(spec, "198.51." + (i / 256) + "." + (i % 256));
    }
    assertThat(limiter.size()).isLessThanOrEqualTo(102);
    // the newcomers together are one client: their shared budget is long spent
    assertThat(limiter.consume(spec, "192.0.2.200").allowed()).isFalse();
  }
}
