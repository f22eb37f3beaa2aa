package io.safedefaults.microapp.auth;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kms.WrappedSessionKeys;
import io.safedefaults.microapp.kms.WrappedSessionKeys.Part;
import io.safedefaults.microapp.kube.Names;
import java.security.GeneralSecurityException;

/**
 * The key that encrypts the sidecar's session cookies (checklist 3): a Tink AES-256-GCM keyset,
 * generated once per app, so sessions survive operator restarts and resyncs, and rotated by
 * {@link SessionKeyRotation} (old keys stay until no session can still use them). With it, the salt
 * for the sidecar's hashed user ids. Only the sidecar container mounts it.
 *
 * <p>With a session KMS key ({@link SessionKeyWrapping}, --kms-session-key-uri) both are stored
 * wrapped under it ({@link WrappedSessionKeys}): the Secret holds {@code session-keyset.kms} and
 * {@code user-id-salt.kms}, and only a sidecar the KMS lets in can open them.
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
    return desired(app, null);
  }

  /** @param wrapping the session KMS key, or null to store the keys as they are */
  public static Secret desired(MicroApp app, SessionKeyWrapping wrapping) {
    Secret secret = new SecretBuilder()
        .withMetadata(Names.metadata(app, Names.sessionKeysSecret(app)))
        .withType("Opaque")
        .build();
    secret.setData(material(newKeyset(), newSalt(), wrapping, app.getMetadata().getNamespace(), app.getMetadata().getName()));
    if (wrapping != null) {
      secret.getMetadata().setAnnotations(new java.util.LinkedHashMap<>(
          java.util.Map.of(io.safedefaults.microapp.kms.Kms.WRAPPED_BY, wrapping.keyName())));
    }
    return secret;
  }

  /**
   * The Secret's data for a keyset and a salt (the files' contents), wrapped when a KMS key is given.
   *
   * @throws IllegalStateException when the KMS cannot wrap them; nothing is created then
   */
  static java.util.Map<String, String> material(String keysetJson, String salt, SessionKeyWrapping wrapping,
      String namespace, String app) {
    java.util.Map<String, String> data = new java.util.LinkedHashMap<>();
    byte[] keyset = keysetJson.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] saltBytes = salt.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (wrapping == null) {
      data.put(SidecarConfig.KEYSET_FILE, B64.encodeToString(keyset));
      data.put(SidecarConfig.USER_ID_SALT_FILE, B64.encodeToString(saltBytes));
      return data;
    }
    try {
      data.put(Part.KEYSET.file, B64.encodeToString(wrapping.wrap(keyset, Part.KEYSET, namespace, app)));
      data.put(Part.USER_ID_SALT.file, B64.encodeToString(wrapping.wrap(saltBytes, Part.USER_ID_SALT, namespace, app)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the session KMS key " + wrapping.keyName() + " cannot wrap the session keyset: "
          + e.getMessage(), e);
    }
    return data;
  }

  private static final java.util.Base64.Encoder B64 = java.util.Base64.getEncoder();

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
