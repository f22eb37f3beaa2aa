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
 * Without the cluster's keys at all (their Secret lost), every well-formed value fails with
 * {@value #KEYS_MISSING} and the reason the store gives.
 */
public final class SealedValueDecryptor {
  /** The reason of every value while the cluster's sealing keys are missing. */
  public static final String KEYS_MISSING = "SealingKeysMissing";

  private final HybridDecrypt decrypt;
  private final Set<Long> keyIds;
  private final long primaryKeyId;
  /** Why there are no keys to open with; null when there are. */
  private final String keysMissing;

  public SealedValueDecryptor(KeysetHandle privateKeys) {
    try {
      this.decrypt = privateKeys.getPrimitive(RegistryConfiguration.get(), HybridDecrypt.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the keyset cannot decrypt: " + e.getMessage());
    }
    this.keyIds = Set.copyOf(SealingKeys.keyIds(privateKeys));
    this.primaryKeyId = SealingKeys.primaryKeyId(privateKeys);
    this.keysMissing = null;
  }

  private SealedValueDecryptor(String keysMissing) {
    this.decrypt = null;
    this.keyIds = Set.of();
    this.primaryKeyId = 0;
    this.keysMissing = keysMissing;
  }

  /** A decryptor for a cluster whose keys are gone: each value fails, saying why and what to do. */
  public static SealedValueDecryptor keysMissing(String why) {
    return new SealedValueDecryptor(why);
  }

  /** False while the cluster's keys are missing: then there is no primary key either. */
  public boolean hasKeys() {
    return keysMissing == null;
  }

  public long primaryKeyId() {
    return primaryKeyId;
  }

  public byte[] open(String sealedText, String namespace, String app, String key) throws UnsealException {
    SealedValue v = parse(sealedText);
    if (keysMissing != null) {
      throw new UnsealException(KEYS_MISSING, "cannot be opened: " + keysMissing, v.keyId());
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

  /** The value as written, or Malformed: the one failure that needs no key to find. */
  static SealedValue parse(String sealedText) throws UnsealException {
    try {
      return SealedValue.parse(sealedText);
    } catch (IllegalArgumentException e) {
      throw new UnsealException("Malformed", e.getMessage(), -1);
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
