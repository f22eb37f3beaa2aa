package io.safedefaults.microapp.auth;

import com.google.crypto.tink.Aead;
import io.safedefaults.microapp.kms.WrappedSessionKeys;
import java.security.GeneralSecurityException;

/**
 * The KMS key the operator wraps every app's session keyset and user-id salt under
 * (--kms-session-key-uri): the key-encryption key and the key's name as the flag gives it (it names
 * no credential; it is recorded on each Secret so a changed key is noticed).
 */
public record SessionKeyWrapping(Aead kek, String keyName) {
  byte[] wrap(byte[] plaintext, WrappedSessionKeys.Part part, String namespace, String app)
      throws GeneralSecurityException {
    return WrappedSessionKeys.wrap(plaintext, kek, part, namespace, app);
  }

  byte[] open(byte[] wrapped, WrappedSessionKeys.Part part, String namespace, String app)
      throws GeneralSecurityException {
    return WrappedSessionKeys.open(wrapped, kek, part, namespace, app);
  }
}
