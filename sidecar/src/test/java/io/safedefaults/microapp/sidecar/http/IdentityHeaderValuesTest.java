package io.safedefaults.microapp.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Identity header values over generated claim values: what the app receives is visible ASCII,
 * decodes to exactly the claim, and two different claims never arrive as the same value.
 */
class IdentityHeaderValuesTest {
  static final int[] POOL = {'a', 'Z', '7', '-', '.', '_', '@', ' ', ',', '%', '+', '/', ':', '"', ';', '=',
      0xE9, 0xDF, 0x131, 0x17F, 0x5C71, 0x7530, 0x0627, 0x1F600, 0xFF41, 0x200B, 0x00A0};

  @Test
  void everyValueArrivesAsVisibleAsciiThatDecodesToItselfAndNothingElse() {
    long seed = Long.getLong("identity.seed", System.nanoTime());
    Random random = new Random(seed);
    Map<String, String> seen = new HashMap<>();
    for (int n = 0; n < 20_000; n++) {
      StringBuilder b = new StringBuilder();
      for (int k = 0, len = 1 + random.nextInt(12); k < len; k++) {
        b.appendCodePoint(POOL[random.nextInt(POOL.length)]);
      }
      String value = b.toString();
      String sent = IdentityHeaders.encode(value);
      assertThat(sent).as("seed %d: %s", seed, value).matches("[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?")
          .doesNotContain(",");
      assertThat(decode(sent)).as("seed %d", seed).isEqualTo(value);
      String other = seen.putIfAbsent(sent, value);
      assertThat(other == null || other.equals(value)).as("seed %d: %s and %s both sent as %s", seed, other, value, sent)
          .isTrue();
    }
  }

  @Test
  void plainValuesAreSentAsTheyAre() {
    for (String v : new String[] {"5f0c2a9e-2b1d-4c7e-9a1f-1d2e3f4a5b6c", "boss@acme.com", "Food Team",
        "CN=food,OU=groups".replace(",", ";"), "/acme/food"}) {
      assertThat(IdentityHeaders.encode(v)).isEqualTo(v);
    }
    assertThat(IdentityHeaders.encode("a,b")).isEqualTo("a%2Cb");
    assertThat(IdentityHeaders.encode("100%")).isEqualTo("100%25");
    assertThat(IdentityHeaders.encode("山田")).isEqualTo("%E5%B1%B1%E7%94%B0");
    assertThat(IdentityHeaders.encode(" edge ")).isEqualTo("%20edge%20");
  }

  /** What an app does: percent-decode as UTF-8 ('+' stays '+'). */
  static String decode(String sent) {
    return URLDecoder.decode(sent.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
