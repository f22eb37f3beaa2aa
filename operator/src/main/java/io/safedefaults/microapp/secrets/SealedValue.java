package io.safedefaults.microapp.secrets;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * One sealed value as written in a manifest: {@code v1:app:<base64>} (opens only for one app) or
 * {@code v1:ns:<base64>} (any app of one namespace). The scope is bound into the ciphertext as
 * HPKE context info, so a value copied to another app, namespace or key does not open.
 */
public record SealedValue(Scope scope, byte[] ciphertext) {
  public static final String PATTERN = "^v1:(app|ns):[A-Za-z0-9+/]+={0,2}$";
  private static final Pattern FORMAT = Pattern.compile(PATTERN);
  /** Tink's output prefix: one version byte 0x01, then the 4-byte key id. */
  private static final int PREFIX = 5;

  public enum Scope {
    APP("app"), NAMESPACE("ns");

    public final String tag;

    Scope(String tag) {
      this.tag = tag;
    }
  }

  public static SealedValue parse(String text) {
    String t = text == null ? "" : text.trim();
    if (!FORMAT.matcher(t).matches()) {
      throw new IllegalArgumentException("is not a sealed value (expected v1:app:... or v1:ns:... from 'microapp-operator seal')");
    }
    Scope scope = t.startsWith("v1:app:") ? Scope.APP : Scope.NAMESPACE;
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(t.substring(t.indexOf(':', 3) + 1));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("is not valid base64");
    }
    if (bytes.length <= PREFIX || bytes[0] != 0x01) {
      throw new IllegalArgumentException("is too short or not a Tink ciphertext");
    }
    return new SealedValue(scope, bytes);
  }

  /** The id of the key that sealed this value, readable without decrypting. */
  public long keyId() {
    return Integer.toUnsignedLong(ByteBuffer.wrap(ciphertext, 1, 4).getInt());
  }

  public String text() {
    return "v1:" + scope.tag + ":" + Base64.getEncoder().encodeToString(ciphertext);
  }

  /** Context info binding a value to where it may be opened. */
  public static byte[] context(Scope scope, String namespace, String app, String key) {
    String target = scope == Scope.APP ? app : "*";
    return ("safedefaults.io/sealed/v1\n" + namespace + "\n" + target + "\n" + key).getBytes(StandardCharsets.UTF_8);
  }

  /** Human-readable scope, printed next to every sealed value. */
  public static String describe(Scope scope, String namespace, String app, String key) {
    return scope == Scope.APP ? namespace + "/" + app + "/" + key : namespace + "/*/" + key + " (any app in " + namespace + ")";
  }
}
