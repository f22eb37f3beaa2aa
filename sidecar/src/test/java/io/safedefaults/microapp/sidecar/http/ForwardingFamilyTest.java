package io.safedefaults.microapp.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Behind a trusted proxy, whatever forwarding headers arrive (any name of the family, any '_' or
 * case spelling, any value), the app sees only the four the sidecar rebuilt from what it verified.
 */
class ForwardingFamilyTest {
  static final List<String> FAMILY = List.of("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
      "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Scheme", "X-Forwarded-Ssl",
      "X-Real-IP", "X-Client-IP", "True-Client-IP", "X-Cluster-Client-IP", "Front-End-Https", "X-Url-Scheme");
  static final List<String> VALUES = List.of("6.6.6.6", "evil.example", "https", "on", "/admin", "443", "for=1.2.3.4",
      "http", "10.1.2.3", "203.0.113.9, 10.1.2.3", "a\"b;c", "[2001:db8::1]:80", "unknown", "");
  static final List<String> REBUILT = List.of("forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto");

  @Test
  void onlyTheRebuiltFourReachTheApp() throws Exception {
    long seed = Long.getLong("forwarding.seed", System.nanoTime());
    Random random = new Random(seed);
    ForwardedHeaders fh = new ForwardedHeaders(List.of(Cidr.parse("10.0.0.0/8")), "https");
    InetAddress proxy = InetAddress.getByName("10.0.0.7");
    for (int n = 0; n < 2_000; n++) {
      MultiMap h = MultiMap.caseInsensitiveMultiMap();
      for (int k = 0, count = random.nextInt(6); k < count; k++) {
        h.add(spell(FAMILY.get(random.nextInt(FAMILY.size())), random), VALUES.get(random.nextInt(VALUES.size())));
      }
      String client = fh.clientAddress(proxy, h);
      fh.rewrite(h, proxy, "where2eat.apps.example.com");
      for (String name : h.names()) {
        String canonical = name.toLowerCase(Locale.ROOT).replace('_', '-');
        boolean family = FAMILY.stream().anyMatch(f -> f.toLowerCase(Locale.ROOT).equals(canonical));
        assertThat(!family || REBUILT.contains(name.toLowerCase(Locale.ROOT))).as("seed %d: %s", seed, name).isTrue();
      }
      assertThat(h.getAll("X-Forwarded-For")).as("seed %d", seed)
          .containsExactly(client.equals("10.0.0.7") ? client : client + ", 10.0.0.7");
      assertThat(h.get("X-Forwarded-Proto")).isIn("http", "https");
      assertThat(h.get("X-Forwarded-Host")).matches("[A-Za-z0-9.:\\[\\]-]+");
      assertThat(h.get("Forwarded")).as("seed %d", seed).doesNotContain(",").startsWith("for=");
    }
  }

  static String spell(String name, Random random) {
    StringBuilder b = new StringBuilder();
    for (char c : name.toCharArray()) {
      char x = random.nextBoolean() ? Character.toUpperCase(c) : Character.toLowerCase(c);
      b.append(x == '-' && random.nextInt(4) == 0 ? '_' : x);
    }
    return b.toString();
  }
}
