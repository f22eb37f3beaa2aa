package io.safedefaults.microapp.e2e;

import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Values for the strings the CRD constrains with a rule (a CEL rule cannot be inverted, so each such
 * field has an entry here, keyed by its schema path). Each entry writes what people plausibly write
 * and, as often, the odd spellings at the edge of the rule: unicode, empty and dot segments, limits,
 * characters the rule forgets. {@link #hostile} mutates any of them into something the API server
 * should refuse. Whether a value is accepted is never decided here: the API server decides.
 */
final class SpecValues {

  /** Writes one value no longer than the schema's maxLength. */
  interface Value {
    String next(Random r, int maxLength);
  }

  private static final String LOWER = "abcdefghijklmnopqrstuvwxyz";
  private static final String ALNUM = LOWER + "0123456789";
  private static final String HEX = "0123456789abcdef";
  private static final String BASE64 = ALNUM + "ABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
  private static final String IDENT = ALNUM + "ABCDEFGHIJKLMNOPQRSTUVWXYZ_";
  /** Letters from several scripts, combining and invisible characters, emoji, look-alikes. */
  static final List<String> UNICODE = List.of("é", "e\u0301", "ß", "ǅ", "Ж", "中文", "عربي", "हिन्दी", "ı", "İ", "\u212a",
      "ａ", "😀", "\u200b", "\u200d", "\u00a0", "\u3000", "\ufeff", "\u202e", "\u2028");
  /** What a hostile or careless writer adds: controls, separators, quoting, path and template syntax. */
  static final List<String> NASTY = List.of("\u0000", "\t", "\n", "\r", " ", "\u007f", "\u0085", "\u00a0", "\u200b",
      "\u202e", "\u2028", "\ufeff", "😀", "é", "\\", "\"", "'", "%", "%2e", "?", "#", ";", "*", "..", "/", "//", ":", "@",
      "${x}", "{{x}}", "<", ">", "|", "&", ",", "=");
  /** Sealed value names shared by secrets.sealed and postgres.connection, so they sometimes match. */
  static final List<String> SEALED_NAMES = List.of("DATABASE_URL", "MAPS_API_KEY", "PG", "_", "a", "JAVA_TOOL_OPTIONS", "PATH");

  static final Map<String, Value> BY_PATH = Map.ofEntries(
      Map.entry("spec.image", SpecValues::image),
      Map.entry("spec.host", SpecValues::dnsName),
      Map.entry("spec.auth.issuer", SpecValues::issuer),
      Map.entry("spec.auth.clientId", (r, max) -> oneOf(r, "where2eat", "a", "/", ":", "..", "client.id:v2/x-y_z",
          repeat(r, ALNUM + "._:/-", 1 + r.nextInt(max)))),
      Map.entry("spec.auth.clientSecret.sealed", SpecValues::sealed),
      Map.entry("spec.auth.sessionTTL", SpecValues::sessionTtl),
      Map.entry("spec.auth.allowedGroups[]", SpecValues::group),
      Map.entry("spec.auth.allowedEmailDomains[]", SpecValues::dnsName),
      Map.entry("spec.auth.adminPaths[]", (r, max) -> path(r, max, true)),
      Map.entry("spec.overrides[].justification", SpecValues::justification),
      Map.entry("spec.resources.cpu", SpecValues::quantity),
      Map.entry("spec.resources.memory", SpecValues::quantity),
      Map.entry("spec.retention.ttl", (r, max) -> oneOf(r, "30d", "1d", "365d", "366d", "9999d", "0001d", "7d",
          (1 + r.nextInt(400)) + "d")),
      Map.entry("spec.retention.exportPath", (r, max) -> path(r, max, false)),
      Map.entry("spec.retention.deletePath", (r, max) -> path(r, max, false)),
      Map.entry("spec.retention.purge.http.path", (r, max) -> path(r, max, false)),
      Map.entry("spec.retention.purge.postgres.column", (r, max) -> identifier(r, Math.min(max, 63))),
      Map.entry("spec.retention.purge.postgres.connection", SpecValues::sealedName),
      Map.entry("spec.retention.purge.postgres.table", (r, max) -> r.nextInt(3) == 0
          ? identifier(r, 63) + "." + identifier(r, 63) : identifier(r, 63)),
      Map.entry("spec.retention.purge.volume.claimName", SpecValues::claimName),
      Map.entry("spec.retention.purge.volume.path", (r, max) -> path(r, max, false)),
      Map.entry("spec.secrets.mountPath", (r, max) -> r.nextBoolean()
          ? oneOf(r, "/var/run/secrets/app", "/tmp", "/tmp/", "/", "/etc/microapp-sidecar", "/data", "/tmp/x", "/.", "/a//b",
              "/var/run/secrets/microapp/purge", "/var/run/secrets")
          : path(r, max, false)),
      Map.entry("spec.secrets.sealed{key}", SpecValues::sealedName),
      Map.entry("spec.secrets.sealed{}", SpecValues::sealed));

  private SpecValues() {}

  /** A plausible value of a string no rule constrains: words, unicode, sometimes exactly maxLength. */
  static String freeText(Random r, int maxLength) {
    if (r.nextInt(8) == 0) {
      return repeat(r, ALNUM + " ", maxLength);
    }
    StringBuilder b = new StringBuilder();
    int words = 1 + r.nextInt(4);
    for (int i = 0; i < words; i++) {
      b.append(i > 0 ? " " : "").append(r.nextInt(4) == 0 ? pick(r, UNICODE) : repeat(r, LOWER, 1 + r.nextInt(8)));
    }
    return cut(b.toString(), maxLength);
  }

  /** One of the ways a value goes wrong: a nasty character inserted, case, spaces, emptiness, one too many. */
  static String hostile(Random r, String v, int maxLength) {
    return switch (r.nextInt(7)) {
      case 0 -> v.substring(0, r.nextInt(v.length() + 1)) + pick(r, NASTY) + v.substring(r.nextInt(v.length() + 1));
      case 1 -> v.toUpperCase(java.util.Locale.ROOT);
      case 2 -> " " + v + pick(r, List.of(" ", "\n", "\t"));
      case 3 -> "";
      case 4 -> v + "x".repeat(Math.max(1, maxLength + 1 - v.length()));
      case 5 -> pick(r, NASTY);
      default -> pick(r, UNICODE) + v;
    };
  }

  private static String image(Random r, int max) {
    StringBuilder b = new StringBuilder();
    if (r.nextInt(3) > 0) {
      b.append(oneOf(r, "ghcr.io", "registry.example.com:5000", "localhost", "Registry.Example.COM", "10.0.0.1:443", "a", "x-y.z"))
          .append('/');
    }
    int parts = 1 + r.nextInt(3);
    for (int i = 0; i < parts; i++) {
      b.append(i > 0 ? "/" : "").append(repeat(r, ALNUM, 1 + r.nextInt(12)));
      if (r.nextInt(4) == 0) {
        b.append(oneOf(r, ".", "_", "__", "-", "---")).append(repeat(r, ALNUM, 1 + r.nextInt(6)));
      }
    }
    if (r.nextInt(5) == 0) {
      b.append('/').append(repeat(r, ALNUM, 1 + r.nextInt(Math.max(1, max - 300)))); // long repository paths
    }
    if (r.nextInt(10) < 7) {
      String longTag = repeat(r, ALNUM + "_.-", 1 + r.nextInt(128)).replaceFirst("^[.-]", "x");
      b.append(':').append(oneOf(r, "1.4.2", "latest", "_", "v1.0.0-rc.1", "A", longTag));
    }
    if (r.nextInt(5) == 0) {
      b.append('@').append(oneOf(r, "sha256:" + repeat(r, HEX, 64), "sha512:" + repeat(r, HEX, 128), "a+b.c:" + repeat(r, HEX, 32)));
    }
    return b.length() <= max ? b.toString() : "ghcr.io/acme/where2eat:1.4.2";
  }

  /** Lowercase DNS names: one to four labels of 1-63 characters, IP-like, punycode, up to 253 in total. */
  private static String dnsName(Random r, int max) {
    if (r.nextInt(12) == 0) {
      return r.nextInt(4) + "." + r.nextInt(256) + "." + r.nextInt(256) + "." + r.nextInt(256);
    }
    StringBuilder b = new StringBuilder();
    int labels = 2 + r.nextInt(3);
    for (int i = 0; i < labels; i++) {
      String label = r.nextInt(6) == 0 ? "xn--" + repeat(r, ALNUM, 6)
          : r.nextInt(6) == 0 ? repeat(r, ALNUM, 63) : label(r, 1 + r.nextInt(15));
      if (b.length() + label.length() + 1 > max) {
        break;
      }
      b.append(i > 0 ? "." : "").append(label);
    }
    return b.indexOf(".") < 0 ? b + ".example.com" : b.toString();
  }

  private static String label(Random r, int length) {
    String s = repeat(r, ALNUM + "-", length);
    return length == 1 ? repeat(r, ALNUM, 1) : repeat(r, ALNUM, 1) + s.substring(1, length - 1) + repeat(r, ALNUM, 1);
  }

  /** Mostly URLs of real providers; one in three with a host or path a URL parser might not take. */
  private static String issuer(Random r, int max) {
    boolean odd = r.nextInt(3) == 0;
    String host = odd ? oneOf(r, "[::1]:8443", "lögin.example", "user@login.example.com", "login.example.com:0", "", ":",
        "a_b.example", "10.0.0.1", "login.example.c0m")
        : oneOf(r, "login.example.com", "idp.internal:8443", "LOGIN.Example.com", "a.b-c.example", dnsName(r, 100));
    String path = odd ? oneOf(r, "/realms/" + pick(r, UNICODE), "/a|b", "/a\"b", "/a\\b", "/%zz", "/%41", "/a{b}",
        "/x\u0001y", "//", "/.well-known", "/a;b=c", "/@x:y")
        : oneOf(r, "", "/", "/realms/acme", "/realms/" + repeat(r, ALNUM + "-_.~", 1 + r.nextInt(30)));
    return cut("https://" + host + path, max);
  }

  private static String sealed(Random r, int max) {
    String body = repeat(r, BASE64, 1 + (r.nextInt(10) == 0 ? r.nextInt(max - 20) : r.nextInt(200)));
    return "v1:" + oneOf(r, "app", "ns") + ":" + body + "==".substring(0, r.nextInt(3));
  }

  private static String sessionTtl(Random r, int max) {
    return oneOf(r, "8h", "90m", "1h30m", "5m", "24h", "0h5m", "1440m", "23h59m", "00008h", "13h", "24h0m",
        r.nextInt(25) + "h", (5 + r.nextInt(1436)) + "m", r.nextInt(24) + "h" + r.nextInt(60) + "m");
  }

  private static String group(Random r, int max) {
    return cut(oneOf(r, "food-team", "/team/sub", "cn=admins,ou=groups,dc=acme", "Équipe Cuisine", "team " + pick(r, UNICODE),
        pick(r, UNICODE), " padded ", "a", "\"quoted\"", "back\\slash", freeText(r, max), repeat(r, ALNUM, max)), max);
  }

  /** Absolute paths from segments people write, and the odd ones: empty, dot, wildcard, unicode, spaces. */
  private static String path(Random r, int max, boolean pattern) {
    if (r.nextInt(6) == 0) {
      return oneOf(r, "/", "/admin/**", "/export", "/.", "/a/..", "/~", "/.well-known/microapp/export", "/a/", "//");
    }
    List<String> segments = pattern
        ? List.of("admin", "export", "**", "*", "settings", "a-b_c", "~user", "", ".", "a;b", "a b", "é", "a*", "A", "x.y")
        : List.of("internal", "purge", "api", "me", "v1", "a-b_c", "~user", "", ".", "...", "x.y", "A");
    StringBuilder b = new StringBuilder();
    int n = 1 + r.nextInt(4);
    for (int i = 0; i < n; i++) {
      b.append('/').append(r.nextInt(4) == 0 ? pick(r, segments) : repeat(r, ALNUM, 1 + r.nextInt(10)));
    }
    return cut(b.toString(), max);
  }

  private static String justification(Random r, int max) {
    return switch (r.nextInt(6)) {
      case 0 -> "public landing page, no personal data and no forms";
      case 1 -> "公開ページで、個人データもフォームもありません。公開ページで、個人データもフォームもありません";
      case 2 -> "abcdefghij klmnopqrs"; // 20 characters, 19 letters
      case 3 -> cut(("called by batch jobs " + "\u200b").repeat(30), max);
      case 4 -> "line one of the reason\nand its second line";
      default -> freeText(r, max) + " because the app holds no personal data at all";
    };
  }

  /** Kubernetes quantities in the CRD's grammar: digits, an optional fraction, m/Ki/Mi/Gi. */
  private static String quantity(Random r, int max) {
    String digits = oneOf(r, "0", "1", "250", "0000000000001", "9999999999999", String.valueOf(r.nextInt(5000)));
    String fraction = r.nextInt(4) == 0 ? "." + oneOf(r, "5", "0001", "0", "123456789") : "";
    return cut(digits + fraction + oneOf(r, "", "m", "Ki", "Mi", "Gi"), max);
  }

  private static String identifier(Random r, int max) {
    return r.nextInt(5) == 0 ? oneOf(r, "_", "user", "select", "created_at", "Events")
        : repeat(r, LOWER + "_", 1) + repeat(r, IDENT, r.nextInt(max));
  }

  private static String sealedName(Random r, int max) {
    return r.nextBoolean() ? pick(r, SEALED_NAMES) : identifier(r, Math.min(max, 128));
  }

  private static String claimName(Random r, int max) {
    return oneOf(r, "uploads", "1", "a..b", "a.-b", "data.v2", label(r, 1 + r.nextInt(63)), repeat(r, ALNUM, max));
  }

  static String repeat(Random r, String alphabet, int length) {
    StringBuilder b = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      b.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  @SafeVarargs
  static <T> T oneOf(Random r, T... values) {
    return values[r.nextInt(values.length)];
  }

  static <T> T pick(Random r, List<T> values) {
    return values.get(r.nextInt(values.size()));
  }

  /** At most max UTF-16 units, never splitting a surrogate pair. */
  static String cut(String s, int max) {
    if (s.length() <= max) {
      return s;
    }
    int end = Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max;
    return s.substring(0, end);
  }
}
