package io.safedefaults.microapp.secrets;

import com.google.crypto.tink.HybridDecrypt;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import java.security.GeneralSecurityException;
import java.util.Set;

/**
 * Opens sealed values with the cluster's private keyset. Failures say which of the three things a
 * person can act on went wrong — malformed, sealed with a key this cluster lacks, or not opening
 * here (altered, or sealed for another app, namespace or key) — and never include the value.
 */
public final class SealedValueDecryptor {
  private final HybridDecrypt decrypt;
  private final Set<Long> keyIds;
  private final long primaryKeyId;

  public SealedValueDecryptor(KeysetHandle privateKeys) {
    try {
      this.decrypt = privateKeys.getPrimitive(RegistryConfiguration.get(), HybridDecrypt.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the keyset cannot decrypt: " + e.getMessage());
    }
    this.keyIds = Set.copyOf(SealingKeys.keyIds(privateKeys));
    this.primaryKeyId = SealingKeys.primaryKeyId(privateKeys);
  }

  public long primaryKeyId() {
    return primaryKeyId;
  }

  public byte[] open(String sealedText, String namespace, String app, String key) throws UnsealException {
    SealedValue v;
    try {
      v = SealedValue.parse(sealedText);
    } catch (IllegalArgumentException e) {
      throw new UnsealException("Malformed", e.getMessage(), -1);
    }
    if (!keyIds.contains(v.keyId())) {
      throw new UnsealException("UnknownKey", "was sealed with key " + v.keyId()
          + ", which this cluster does not have; seal it again with the current public key", v.keyId());
    }
    try {
      return decrypt.decrypt(v.ciphertext(), SealedValue.context(v.scope(), namespace, app, key));
    } catch (GeneralSecurityException e) {
      throw new UnsealException("WrongScopeOrTampered", "does not open for "
          + SealedValue.describe(v.scope(), namespace, app, key)
          + ": it was sealed for another app, namespace or key, or altered; seal it again for this one", v.keyId());
    }
  }

  /** Why a sealed value did not open; the message completes a sentence that starts with the field. */
  public static final class UnsealException extends Exception {
    private final String reason;
    private final long keyId;

    public UnsealException(String reason, String message, long keyId) {
      super(message);
      this.reason = reason;
      this.keyId = keyId;
    }

    public String reason() {
      return reason;
    }

    public long keyId() {
      return keyId;
    }
  }
}
