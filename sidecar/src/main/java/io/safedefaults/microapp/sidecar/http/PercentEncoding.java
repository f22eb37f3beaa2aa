package io.safedefaults.microapp.sidecar.http;

import java.nio.charset.StandardCharsets;
import java.util.function.IntPredicate;

/** Percent-encoding (RFC 3986) of a string's UTF-8 bytes, with upper-case hex digits. */
final class PercentEncoding {
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private PercentEncoding() {}

  /**
   * @param keep which byte values (0-255) stay as they are; keep only ASCII, since a kept byte is
   *     appended as the character of that value
   */
  static void encode(String value, IntPredicate keep, StringBuilder out) {
    for (byte x : value.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if (keep.test(c)) {
        out.append((char) c);
      } else {
        out.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
      }
    }
  }
}
