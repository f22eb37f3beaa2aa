package io.safedefaults.microapp.kube;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Short content hash put on the pod template (the sidecar configuration, the sealed values), so
 * pods roll when what they read changes. Below the plan, which hashes the sealed values, and the
 * builders, which hash the configuration.
 */
public final class ContentHash {
  private ContentHash() {}

  public static String of(String content) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
