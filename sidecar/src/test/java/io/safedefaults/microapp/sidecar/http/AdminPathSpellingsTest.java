package io.safedefaults.microapp.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Spellings of an admin path that app routers may serve from the admin handler. Each generated
 * spelling is either refused by {@link RequestPath} (400) or matched by the admin pattern (MFA):
 * never parsed and let through as an ordinary path. Seeded; {@code -Dspellings.seed=N} replays.
 */
class AdminPathSpellingsTest {
  /** Pattern, and a path it protects. */
  static final Map<String, String> ADMIN = Map.of(
      "/admin/**", "/admin/users/settings",
      "/export", "/export",
      "/teams/*/settings", "/teams/kitchen/settings",
      "/api/v1/delete", "/api/v1/delete");
  static final int[] FORMAT = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x200E, 0x200F, 0x202E, 0x2066};
  static final int[] SPACE = {' ', '\t', 0x00A0, 0x2003, 0x3000, 0x1680, 0x205F, 0x2028, 0x000B, 0x000C};
  static final String[] SUFFIX = {".", "..", ".csv", ".json", ".html", ".xml.", ".CSV"};

  @Test
  void everySpellingOfAnAdminPathIsRefusedOrProtected() {
    long seed = Long.getLong("spellings.seed", System.nanoTime());
    Random random = new Random(seed);
    int refused = 0;
    int matched = 0;
    for (var admin : ADMIN.entrySet()) {
      PathPattern pattern = PathPattern.compile(admin.getKey());
      for (int n = 0; n < 2_000; n++) {
        String spelled = spell(admin.getValue(), random);
        String target = encode(spelled);
        try {
          RequestPath parsed = RequestPath.parse(target);
          if (!pattern.matches(parsed.path())) {
            fail("seed %d: %s (sent as %s) reaches the app as %s, not protected by %s", seed,
                codePoints(spelled), target, parsed.path(), admin.getKey());
          }
          matched++;
        } catch (PathRejected e) {
          refused++;
        }
      }
    }
    assertThat(refused).as("spellings refused").isPositive();
    assertThat(matched).as("spellings matched").isPositive();
  }

  @Test
  void ordinaryPathsInAnyScriptStillReachTheAppUnprotected() throws Exception {
    PathPattern admin = PathPattern.compile("/admin/**");
    PathPattern export = PathPattern.compile("/export");
    for (String path : List.of("/kullanıcı/profil", "/café/menü", "/exports", "/administrator", "/ｐｕｂｌｉｃ/x",
        "/straße", "/データ/一覧", "/export-all", "/my.admin/x", "/v1.2/export.d/x")) {
      RequestPath parsed = RequestPath.parse(encode(path));
      assertThat(admin.matches(parsed.path()) || export.matches(parsed.path())).as(path).isFalse();
    }
  }

  @Test
  void theWellKnownRoutesKeepTheirLeadingDot() throws Exception {
    PathPattern export = PathPattern.compile("/.well-known/microapp/export");
    assertThat(export.matches(RequestPath.parse("/.well-known/microapp/export").path())).isTrue();
    assertThat(export.matches(RequestPath.parse("/well-known/microapp/export").path())).isFalse();
  }

  /** One to four changes an app router may ignore, applied to {@code path}. */
  static String spell(String path, Random random) {
    List<StringBuilder> segments = new ArrayList<>();
    for (String s : path.substring(1).split("/")) {
      segments.add(new StringBuilder(s));
    }
    for (int k = 0, changes = 1 + random.nextInt(4); k < changes; k++) {
      StringBuilder seg = segments.get(random.nextInt(segments.size()));
      switch (random.nextInt(8)) {
        case 0 -> { // case
          int i = random.nextInt(seg.length());
          seg.setCharAt(i, Character.toUpperCase(seg.charAt(i)));
        }
        case 1 -> replaceLetter(seg, random); // a letter that folds to an ASCII one
        case 2 -> seg.append(SUFFIX[random.nextInt(SUFFIX.length)]);
        case 3 -> segments.get(segments.size() - 1).append(SUFFIX[random.nextInt(SUFFIX.length)]);
        case 4 -> seg.insert(random.nextInt(seg.length() + 1), Character.toChars(FORMAT[random.nextInt(FORMAT.length)]));
        case 5 -> {
          char[] space = Character.toChars(SPACE[random.nextInt(SPACE.length)]);
          if (random.nextBoolean()) {
            seg.insert(0, space);
          } else {
            seg.append(space);
          }
        }
        case 6 -> seg.append(";jsessionid=").append(random.nextInt(1000));
        default -> seg.insert(0, random.nextBoolean() ? "./" : "x/../");
      }
    }
    StringBuilder out = new StringBuilder();
    for (StringBuilder s : segments) {
      out.append('/').append(s);
    }
    return random.nextInt(4) == 0 ? out.append('/').toString() : out.toString();
  }

  static void replaceLetter(StringBuilder seg, Random random) {
    for (int tries = 0; tries < 8; tries++) {
      int i = random.nextInt(seg.length());
      char c = Character.toLowerCase(seg.charAt(i));
      String with = switch (c) {
        case 'i' -> random.nextBoolean() ? "ı" : "İ";
        case 's' -> "ſ";
        case 'k' -> "\u212A";
        case 'e' -> random.nextBoolean() ? "é" : "ë";
        case 'a' -> "á";
        default -> c >= 'a' && c <= 'z' ? new String(Character.toChars(0xFF41 + (c - 'a'))) : null;
      };
      if (with != null) {
        seg.replace(i, i + 1, with);
        return;
      }
    }
  }

  /** Percent-encodes what a client must (non-ASCII, spaces, controls) and leaves the rest as typed. */
  static String encode(String path) {
    StringBuilder b = new StringBuilder();
    for (byte x : path.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if (c <= 0x20 || c >= 0x7f) {
        b.append('%').append(String.format("%02X", c));
      } else {
        b.append((char) c);
      }
    }
    return b.toString();
  }

  static String codePoints(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints().forEach(c -> b.append(c < 0x80 && c > 0x20 ? String.valueOf((char) c) : String.format("[U+%04X]", c)));
    return b.toString();
  }
}
