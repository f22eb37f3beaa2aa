package io.safedefaults.microapp.sidecar.http;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The one canonical form of a request path that every decision (sign-in, MFA, quotas, skip-auth)
 * is made on, and that is forwarded to the app, so the sidecar and the app can never disagree
 * about which resource was asked for. oauth2-proxy's bypasses came from deciding on one reading of
 * the URL and forwarding another.
 *
 * <p>Rules: the query never takes part; the path is percent-decoded exactly once (strict UTF-8);
 * an encoded '/', '\' or NUL, any control character, a raw backslash or '#', and anything still
 * percent-encoded after one decoding (double encoding) are rejected; ';' parameters are removed
 * from every segment; dot segments are resolved and empty segments merged.
 *
 * <p>Spellings that app routers may read as another path are rejected too, because the app could
 * route them to a handler the sidecar did not match: a segment with whitespace (of any script) at
 * its start or end, an invisible format character (zero-width space, soft hyphen, BOM, bidi
 * marks), and a character whose compatibility form holds a separator ('/', '\', '?', '#', '%',
 * ';' or '.', e.g. a fullwidth solidus). Letters that fold to other letters (dotless i, long s,
 * the Kelvin sign, fullwidth forms) stay, and {@link PathPattern} matches them folded.
 *
 * @param path the decoded, normalised path used for decisions, e.g. {@code /admin/users}
 * @param forwardTarget what the app receives: the normalised path re-encoded, plus the raw query
 */
public record RequestPath(String path, String forwardTarget) {

  public static RequestPath parse(String requestTarget) throws PathRejected {
    if (requestTarget == null || requestTarget.isEmpty()) {
      throw new PathRejected("empty request target");
    }
    String target = requestTarget;
    if (target.regionMatches(true, 0, "http://", 0, 7) || target.regionMatches(true, 0, "https://", 0, 8)) {
      // absolute-form (RFC 9112 3.2.2): only the path and query count, never the authority
      int authorityStart = target.indexOf("//") + 2;
      int pathStart = indexOfAny(target, authorityStart, "/?");
      target = pathStart < 0 ? "/" : (target.charAt(pathStart) == '?' ? "/" + target.substring(pathStart) : target.substring(pathStart));
    }
    if (target.charAt(0) != '/') {
      throw new PathRejected("request target must start with /");
    }
    int q = target.indexOf('?');
    String rawPath = q < 0 ? target : target.substring(0, q);
    String rawQuery = q < 0 ? null : target.substring(q + 1);
    for (int i = 0; i < target.length(); i++) {
      char c = target.charAt(i);
      if (c <= 0x20 || c >= 0x7f || c == '#' || (c == '\\' && i < rawPath.length())) {
        throw new PathRejected("request target contains a character that must be percent-encoded or is not allowed");
      }
    }
    String decoded = decodeOnce(rawPath);

    String[] parts = decoded.split("/", -1);
    for (String seg : parts) {
      rejectAmbiguous(seg);
    }
    Deque<String> out = new ArrayDeque<>();
    boolean trailingSlash = false;
    for (int i = 1; i < parts.length; i++) {
      String seg = parts[i];
      int semi = seg.indexOf(';');
      if (semi >= 0) {
        seg = seg.substring(0, semi); // path parameters (";jsessionid=...") never take part
      }
      boolean last = i == parts.length - 1;
      switch (seg) {
        case "", "." -> trailingSlash = last;
        case ".." -> {
          out.pollLast();
          trailingSlash = last;
        }
        default -> {
          out.addLast(seg);
          trailingSlash = false;
        }
      }
    }
    StringBuilder path = new StringBuilder(decoded.length() + 1);
    StringBuilder forward = new StringBuilder(rawPath.length() + 8);
    for (String seg : out) {
      path.append('/').append(seg);
      forward.append('/');
      encodeSegment(seg, forward);
    }
    if (out.isEmpty() || trailingSlash) {
      path.append('/');
      forward.append('/');
    }
    if (rawQuery != null) {
      forward.append('?').append(rawQuery);
    }
    return new RequestPath(path.toString(), forward.toString());
  }

  private static final String SEPARATORS = "/\\?#%;.";

  private static void rejectAmbiguous(String seg) throws PathRejected {
    if (seg.isEmpty()) {
      return;
    }
    if (blank(seg.codePointAt(0)) || blank(seg.codePointBefore(seg.length()))) {
      throw new PathRejected("a path segment starts or ends with whitespace");
    }
    for (int i = 0; i < seg.length(); ) {
      int c = seg.codePointAt(i);
      i += Character.charCount(c);
      if (c < 0x80) {
        continue;
      }
      int type = Character.getType(c);
      if (type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR) {
        throw new PathRejected("an invisible format character in the path");
      }
      String compat = java.text.Normalizer.normalize(new String(Character.toChars(c)), java.text.Normalizer.Form.NFKC);
      for (int k = 0; k < compat.length(); k++) {
        if (SEPARATORS.indexOf(compat.charAt(k)) >= 0) {
          throw new PathRejected("a character in the path that stands for a separator");
        }
      }
    }
  }

  private static boolean blank(int c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c);
  }

  private static String decodeOnce(String raw) throws PathRejected {
    if (raw.indexOf('%') < 0) {
      return raw;
    }
    ByteBuffer bytes = ByteBuffer.allocate(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '%') {
        if (i + 2 >= raw.length() || hex(raw.charAt(i + 1)) < 0 || hex(raw.charAt(i + 2)) < 0) {
          throw new PathRejected("malformed percent-encoding");
        }
        int b = hex(raw.charAt(i + 1)) << 4 | hex(raw.charAt(i + 2));
        if (b == '/' || b == '\\' || b == 0) {
          throw new PathRejected("encoded '/', '\\' or NUL in the path");
        }
        if (b < 0x20 || b == 0x7f) {
          throw new PathRejected("encoded control character in the path");
        }
        bytes.put((byte) b);
        i += 2;
      } else {
        bytes.put((byte) c);
      }
    }
    bytes.flip();
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    String decoded;
    try {
      CharBuffer chars = utf8.decode(bytes);
      decoded = chars.toString();
    } catch (CharacterCodingException e) {
      throw new PathRejected("percent-encoded bytes are not valid UTF-8");
    }
    for (int i = 0; i < decoded.length(); i++) {
      char c = decoded.charAt(i);
      if (c == '%' && i + 2 < decoded.length() && hex(decoded.charAt(i + 1)) >= 0 && hex(decoded.charAt(i + 2)) >= 0) {
        throw new PathRejected("double percent-encoding in the path");
      }
      if (c >= 0x80 && c <= 0x9f) {
        throw new PathRejected("encoded control character in the path");
      }
    }
    return decoded;
  }

  /** pchar (RFC 3986) stays as is; everything else, ';' and '%' included, is percent-encoded. */
  private static void encodeSegment(String seg, StringBuilder out) {
    PercentEncoding.encode(seg, c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || "-._~!$&'()*+,=:@".indexOf(c) >= 0, out);
  }

  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  private static int indexOfAny(String s, int from, String chars) {
    for (int i = from; i < s.length(); i++) {
      if (chars.indexOf(s.charAt(i)) >= 0) {
        return i;
      }
    }
    return -1;
  }
}
