package io.safedefaults.microapp.sidecar.http;

import java.util.List;
import java.util.Locale;

/**
 * A path rule from the configuration (adminPaths, perPathQuotas), matched against the normalised
 * path only. {@code /admin/**} matches /admin and everything below it; {@code *} matches one
 * segment; anything else matches exactly. Matching ignores case and a trailing slash because many
 * app frameworks route /Export/ to the /export handler: protecting too much is safe, too little is
 * a bypass.
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
      parts[i] = p.toLowerCase(Locale.ROOT);
    }
    String[] fixed = subtree ? java.util.Arrays.copyOf(parts, parts.length - 1) : parts;
    return new PathPattern(pattern, fixed, subtree);
  }

  public static List<PathPattern> compileAll(List<String> patterns) {
    return patterns.stream().map(PathPattern::compile).toList();
  }

  /** @param normalisedPath a path from {@link RequestPath#path()} */
  public boolean matches(String normalisedPath) {
    String p = normalisedPath.toLowerCase(Locale.ROOT);
    if (p.length() > 1 && p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    String[] parts = p.equals("/") ? new String[0] : p.substring(1).split("/", -1);
    if (parts.length < segments.length || (!subtree && parts.length != segments.length)) {
      return false;
    }
    for (int i = 0; i < segments.length; i++) {
      if (!segments[i].equals("*") && !segments[i].equals(parts[i])) {
        return false;
      }
    }
    return true;
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
