package io.safedefaults.microapp.kms;

import com.google.crypto.tink.Aead;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

/**
 * An app's session key material wrapped under a KMS key: how the operator writes it into the app's
 * session-keys Secret and how the sidecar opens it, in one place. Each part is encrypted by the
 * envelope key-encryption key ({@link Kms#kek}) with associated data naming the part and the app,
 * so a wrapped keyset copied into another app's Secret, or the salt put where the keyset belongs,
 * is refused rather than opened.
 */
public final class WrappedSessionKeys {
  /** The Secret's (and the mounted directory's) file names of the wrapped parts. */
  public enum Part {
    KEYSET("session-keyset.kms", "safedefaults.io/session-keyset "),
    USER_ID_SALT("user-id-salt.kms", "safedefaults.io/user-id-salt ");

    public final String file;
    private final String label;

    Part(String file, String label) {
      this.file = file;
      this.label = label;
    }
  }

  private WrappedSessionKeys() {}

  /** The associated data: the part and the app as {@code namespace/name}. */
  public static byte[] associatedData(Part part, String namespace, String app) {
    return (part.label + namespace + "/" + app).getBytes(StandardCharsets.UTF_8);
  }

  public static byte[] wrap(byte[] plaintext, Aead kek, Part part, String namespace, String app)
      throws GeneralSecurityException {
    return kek.encrypt(plaintext, associatedData(part, namespace, app));
  }

  /** Fails unless the same KMS key wrapped exactly this part for exactly this app. */
  public static byte[] open(byte[] wrapped, Aead kek, Part part, String namespace, String app)
      throws GeneralSecurityException {
    return kek.decrypt(wrapped, associatedData(part, namespace, app));
  }
}
