package io.safedefaults.microapp.sidecar.purge;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The signature on every purge call, so an app can tell the scheduled purge from anything else
 * that reaches its purge route (README, "Purge calls"). The job signs with the purge token the
 * operator generated for the app, which the app can read from a file too:
 *
 * <pre>X-Microapp-Purge-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(token, t + "." + method + "." + path + "." + body)&gt;</pre>
 *
 * An app checks it with {@link #verify}'s rule: recompute over what it received, compare in
 * constant time, and accept a time at most five minutes from its own clock.
 */
public final class PurgeSignature {
  public static final String HEADER = "X-Microapp-Purge-Signature";
  public static final long TOLERANCE_SECONDS = 300;

  private PurgeSignature() {}

  public static String sign(String token, long unixSeconds, String method, String path, String body) {
    return "t=" + unixSeconds + ",v1=" + HexFormat.of().formatHex(mac(token, unixSeconds + "." + method + "." + path + "." + body));
  }

  public static boolean verify(String token, String header, String method, String path, String body, long nowSeconds) {
    if (header == null || !header.matches("t=[0-9]{1,12},v1=[0-9a-f]{64}")) {
      return false;
    }
    long t = Long.parseLong(header.substring(2, header.indexOf(',')));
    if (Math.abs(nowSeconds - t) > TOLERANCE_SECONDS) {
      return false;
    }
    byte[] expected = mac(token, t + "." + method + "." + path + "." + body);
    return MessageDigest.isEqual(expected, HexFormat.of().parseHex(header.substring(header.indexOf("v1=") + 3)));
  }

  private static byte[] mac(String token, String message) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(token.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
      return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has HmacSHA256", e);
    }
  }
}
