package io.safedefaults.microapp.sidecar.session;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import io.safedefaults.microapp.kms.WrappedSessionKeys;
import io.safedefaults.microapp.sidecar.config.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;

/**
 * Encrypts and authenticates cookie values with the app's Tink keyset (checklist 3). The cookie
 * name is bound as associated data, so a login-state cookie can never be replayed as a session.
 * Tink writes the key id into each ciphertext and decrypts with any key in the keyset: rotating in
 * a new primary key keeps existing sessions readable until the old key is removed.
 */
public final class CookieSealer {
  static {
    try {
      AeadConfig.register();
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getUrlDecoder();
  private volatile Aead aead;
  /** The keyset file's bytes as last loaded (wrapped or not): the KMS is asked only when they change. */
  private volatile byte[] loaded;

  CookieSealer(Aead aead) {
    this.aead = aead;
  }

  public static CookieSealer fromKeysetFile(Path keysetFile) {
    return fromKeysetFile(keysetFile, SessionKeyFiles.PLAIN);
  }

  public static CookieSealer fromKeysetFile(Path keysetFile, SessionKeyFiles files) {
    byte[] raw = SessionKeyFiles.read(keysetFile, "session keyset", "session.keysetFile");
    // the bytes opened are the bytes remembered: a rotation landing between two reads is not missed
    String json = new String(files.openAtStart(keysetFile, raw, WrappedSessionKeys.Part.KEYSET), StandardCharsets.UTF_8);
    CookieSealer sealer = new CookieSealer(parse(json, keysetFile.toString()));
    sealer.loaded = raw;
    return sealer;
  }

  public static CookieSealer fromKeysetJson(String json, String origin) {
    CookieSealer sealer = new CookieSealer(parse(json, origin));
    sealer.loaded = json.getBytes(StandardCharsets.UTF_8);
    return sealer;
  }

  private static Aead parse(String json, String origin) {
    try {
      KeysetHandle handle = TinkJsonProtoKeysetFormat.parseKeyset(json, InsecureSecretKeyAccess.get());
      return handle.getPrimitive(RegistryConfiguration.get(), Aead.class);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new ConfigException("session keyset " + origin + " is not a Tink JSON AEAD keyset (AES256_GCM expected)");
    }
  }

  public boolean reloadIfChanged(Path keysetFile) {
    return reloadIfChanged(keysetFile, SessionKeyFiles.PLAIN);
  }

  /**
   * Picks up a rotated keyset (the operator adds a new primary and later removes the old key; the
   * Secret volume changes in place). An unreadable, half-written or unopenable file keeps the
   * current keys; a wrapped one is retried at the next check.
   *
   * @return true when new keys are in use
   */
  public boolean reloadIfChanged(Path keysetFile, SessionKeyFiles files) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(keysetFile);
    } catch (IOException e) {
      return false;
    }
    if (Arrays.equals(raw, loaded)) {
      return false;
    }
    try {
      aead = parse(new String(files.open(raw, WrappedSessionKeys.Part.KEYSET), StandardCharsets.UTF_8),
          keysetFile.toString());
    } catch (ConfigException | GeneralSecurityException e) {
      return false;
    }
    loaded = raw;
    return true;
  }

  public String seal(String cookieName, byte[] plaintext) {
    try {
      return B64.encodeToString(aead.encrypt(plaintext, cookieName.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cookie encryption failed", e);
    }
  }

  /** @return the plaintext, or null when the value was tampered with, truncated or sealed by another key */
  public byte[] open(String cookieName, String value) {
    if (value == null || value.isEmpty() || value.length() > 8192) {
      return null;
    }
    try {
      return aead.decrypt(B64D.decode(value), cookieName.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return null;
    }
  }
}
