package io.safedefaults.microapp.auth;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import java.security.GeneralSecurityException;

/**
 * The key that encrypts the sidecar's session cookies (checklist 3): a Tink AES-256-GCM keyset,
 * generated once per app, so sessions survive operator restarts and resyncs, and rotated by
 * {@link SessionKeyRotation} (old keys stay until no session can still use them). With it, the salt
 * for the sidecar's hashed user ids. Only the sidecar container mounts it.
 */
public final class SessionKeys {
  static {
    try {
      AeadConfig.register();
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private SessionKeys() {}

  public static Secret desired(MicroApp app) {
    return new SecretBuilder()
        .withMetadata(Names.metadata(app, Names.sessionKeysSecret(app)))
        .withType("Opaque")
        .addToStringData(SidecarConfig.KEYSET_FILE, newKeyset())
        .addToStringData(SidecarConfig.USER_ID_SALT_FILE, newSalt())
        .build();
  }

  static String newSalt() {
    byte[] salt = new byte[32];
    new java.security.SecureRandom().nextBytes(salt);
    return java.util.Base64.getEncoder().encodeToString(salt);
  }

  static String newKeyset() {
    try {
      KeysetHandle handle = KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM);
      return TinkJsonProtoKeysetFormat.serializeKeyset(handle, InsecureSecretKeyAccess.get());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not generate a session keyset", e);
    }
  }
}
