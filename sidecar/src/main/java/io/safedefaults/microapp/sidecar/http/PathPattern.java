package io.safedefaults.microapp.sidecar.http;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;

/**
 * A path rule from the configuration (adminPaths, perPathQuotas, the export, delete and purge
 * routes), matched against the normalised path only. {@code /admin/**} matches /admin and
 * everything below it; {@code *} matches one segment; anything else matches exactly. Every use
 * protects the paths it matches, so matching errs wide: protecting too much is safe, too little
 * is a bypass. A path segment matches a pattern segment when they are equal after what app
 * routers may do to a segment:
 * <ul>
 *   <li>fold case and compatibility forms, and drop accents: /Export, /EXPORT, /expoRt, /ｅxport
 *       (fullwidth), /export with a long s or a dotless i or a Kelvin sign for k, /éxport;
 *   <li>drop trailing dots (/export. and /export..), as Windows servers do;
 *   <li>drop a format suffix (/export.csv, /export.json), as Rails-style routers serve it from the
 *       /export action (unless the pattern segment itself has a dot);
 *   <li>ignore a trailing slash.
 * </ul>
 * Spellings that cannot be folded safely (edge whitespace, invisible characters) never get here:
 * {@link RequestPath} rejects them.
 */
public final class PathPattern {
  private final String source;
  private final String[] segments;
  private final boolean subtree;

  private PathPattern(String source, String[] segments, boolean subtree) {
    this.source = source;
    this.segments = segments;
    this.subtree = subtree;
  }

  public static PathPattern compile(String pattern) {
    if (pattern == null || !pattern.startsWith("/")) {
      throw new IllegalArgumentException("a path must start with '/', e.g. /admin/**");
    }
    for (char c : pattern.toCharArray()) {
      if (c == '%' || c == '?' || c == '#' || c == '\\' || c == ';' || c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException("write a plain path without %, ?, #, ;, backslash or spaces: " + pattern);
      }
    }
    String body = pattern.length() > 1 && pattern.endsWith("/") ? pattern.substring(0, pattern.length() - 1) : pattern;
    String[] parts = body.equals("/") ? new String[0] : body.substring(1).split("/", -1);
    boolean subtree = false;
    for (int i = 0; i < parts.length; i++) {
      String p = parts[i];
      if (p.isEmpty() || p.equals(".") || p.equals("..")) {
        throw new IllegalArgumentException("write a normalised path without empty or dot segments: " + pattern);
      }
      if (p.equals("**")) {
        if (i != parts.length - 1) {
          throw new IllegalArgumentException("'**' may only be the last segment, e.g. /admin/**: " + pattern);
        }
        subtree = true;
      } else if (p.contains("*") && !p.equals("*")) {
        throw new IllegalArgumentException("'*' must be a whole segment: " + pattern);
      }
      parts[i] = p.equals("*") || p.equals("**") ? p : fold(p);
    }
    String[] fixed = subtree ? java.util.Arrays.copyOf(parts, parts.length - 1) : parts;
    return new PathPattern(pattern, fixed, subtree);
  }

  public static List<PathPattern> compileAll(List<String> patterns) {
    return patterns.stream().map(PathPattern::compile).toList();
  }

  /** @param normalisedPath a path from {@link RequestPath#path()} */
  public boolean matches(String normalisedPath) {
    String p = normalisedPath;
    if (p.length() > 1 && p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    String[] parts = p.equals("/") ? new String[0] : p.substring(1).split("/", -1);
    if (parts.length < segments.length || (!subtree && parts.length != segments.length)) {
      return false;
    }
    for (int i = 0; i < segments.length; i++) {
      if (!segments[i].equals("*") && !sameSegment(segments[i], parts[i])) {
        return false;
      }
    }
    return true;
  }

  private static boolean sameSegment(String pattern, String segment) {
    String folded = fold(segment);
    if (folded.equals(pattern)) {
      return true;
    }
    int dot = folded.indexOf('.');
    return pattern.indexOf('.') < 0 && dot > 0 && folded.substring(0, dot).equals(pattern);
  }

  /**
   * Compatibility forms and accents dropped, case folded (upper, then lower: ı, ſ, K fold too),
   * whitespace beside dots and trailing dots gone.
   */
  static String fold(String segment) {
    String s = Normalizer.normalize(segment, Normalizer.Form.NFKD);
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.getType(c) != Character.NON_SPACING_MARK) {
        b.append(c);
      }
    }
    // Whitespace beside a dot ("export .json") is trimmed by routers that split off a format.
    String folded = java.util.Arrays.stream(b.toString().toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT).split("\\.", -1))
        .map(String::strip).collect(java.util.stream.Collectors.joining("."));
    int end = folded.length();
    while (end > 0 && folded.charAt(end - 1) == '.') {
      end--;
    }
    return folded.substring(0, end);
  }

  public static boolean anyMatches(List<PathPattern> patterns, String normalisedPath) {
    for (PathPattern p : patterns) {
      if (p.matches(normalisedPath)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return source;
  }
}
