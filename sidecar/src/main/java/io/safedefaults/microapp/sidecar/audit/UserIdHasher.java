package io.safedefaults.microapp.sidecar.audit;

import io.safedefaults.microapp.sidecar.config.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Pseudonymous user ids for logs, metrics keys and Redis keys (checklist 9): SHA-256 over a
 * per-deployment salt and the subject. The same user gets the same id across requests and
 * replicas, so an auditor can follow one person's actions, but the id cannot be reversed or joined
 * with another app's logs. The salt comes from userIdSaltFile or, by default, is derived from the
 * app's session keyset (secret, stable, already per app).
 */
public final class UserIdHasher {
  private final byte[] salt;

  public UserIdHasher(byte[] salt) {
    this.salt = salt.clone();
  }

  public static UserIdHasher fromFiles(String saltFile, Path keysetFile) {
    try {
      // Until the operator has added the salt to an older app's Secret, the keyset file is the salt,
      // as it always was; the operator then writes exactly those bytes as the salt, so ids stay equal.
      boolean salted = saltFile != null && Files.isRegularFile(Path.of(saltFile));
      return fromMaterial(salted ? Files.readAllBytes(Path.of(saltFile)) : Files.readAllBytes(keysetFile));
    } catch (IOException e) {
      throw new ConfigException("user id salt file " + (saltFile != null ? saltFile : keysetFile)
          + " cannot be read: " + e.getMessage());
    }
  }

  /** From the salt file's content (opened already when it is wrapped under the session KMS key). */
  public static UserIdHasher fromMaterial(byte[] material) {
    MessageDigest d = sha256();
    d.update("microapp-sidecar user-id salt v1\0".getBytes(StandardCharsets.US_ASCII));
    d.update(material);
    return new UserIdHasher(d.digest());
  }

  /** @return "u-" and 32 hex digits, or "anonymous" */
  public String hash(String subject) {
    if (subject == null) {
      return "anonymous";
    }
    return "u-" + digest("user\0", subject);
  }

  /** Client addresses are personal data too; the same construction keeps them out of logs. */
  public String hashAddress(String address) {
    return "ip-" + digest("addr\0", address);
  }

  private String digest(String domain, String value) {
    MessageDigest d = sha256();
    d.update(salt);
    d.update(domain.getBytes(StandardCharsets.US_ASCII));
    d.update(value.getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(d.digest(), 0, 16);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
