package io.safedefaults.microapp.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A shard's name ends its Lease's name and tags every metric: only DNS-label names of at most 40
 * characters pass, and a refusal is one sentence naming the flag and the rule, over generated names.
 */
class NamespaceShardNameTest {
  private static final String INNER = "abcdefghijklmnopqrstuvwxyz0123456789-";
  private static final String EDGE = "abcdefghijklmnopqrstuvwxyz0123456789";
  private final Random random = new Random(16);

  private String good(int length) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < length; i++) {
      String from = i == 0 || i == length - 1 ? EDGE : INNER;
      b.append(from.charAt(random.nextInt(from.length())));
    }
    return b.toString();
  }

  @Test
  void dnsLabelsOfOneToFortyCharactersAreNames() {
    for (int n = 0; n < 500; n++) {
      String name = good(1 + random.nextInt(40));
      assertThat(NamespaceShard.validName(name)).isEqualTo(name);
    }
  }

  @Test
  void everythingElseIsRefusedNamingTheFlagAndTheRule() {
    List<String> bad = new ArrayList<>(List.of("", "-a", "a-", "-", "A", "shard_a", "shard.a", "shard a", "ä",
        "a\nb", "a\u0000", "shard/a"));
    for (int n = 0; n < 300; n++) {
      String name = good(1 + random.nextInt(20));
      int at = random.nextInt(name.length() + 1);
      switch (n % 4) {
        case 0 -> bad.add(good(41 + random.nextInt(30)));                        // too long
        case 1 -> bad.add(name.substring(0, at) + "_./:ÄA \t".charAt(random.nextInt(8)) + name.substring(at)); // foreign character
        case 2 -> bad.add("-" + name);                                           // leading dash
        default -> bad.add(name + "-");                                          // trailing dash
      }
    }
    bad.add(null);
    for (String name : bad) {
      assertThatThrownBy(() -> NamespaceShard.validName(name)).as("%s", name)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("--shard-name")
          .hasMessageContaining("1-40 lower-case letters, digits and '-'")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n", "\t", "\u0000"));
    }
  }

  @Test
  void anEmptySelectorIsRefusedWithAnExample() {
    for (String selector : new String[] {null, "", "   "}) {
      assertThatThrownBy(() -> new NamespaceShard(null, "a", selector, "microapp-system", "microapp-system",
          "microapp-operator-a", java.time.Clock.systemUTC()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("--shard-selector is empty")
          .hasMessageContaining("safedefaults.io/shard=a");
    }
  }
}
