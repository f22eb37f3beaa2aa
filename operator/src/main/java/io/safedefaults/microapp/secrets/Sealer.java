package io.safedefaults.microapp.secrets;

import com.google.crypto.tink.HybridEncrypt;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import java.security.GeneralSecurityException;

/** Seals with the public keyset only: anyone may seal, only the cluster can open. */
public final class Sealer {
  private final HybridEncrypt encrypt;

  public Sealer(KeysetHandle publicKeys) {
    try {
      this.encrypt = publicKeys.getPrimitive(RegistryConfiguration.get(), HybridEncrypt.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the public keyset cannot encrypt: " + e.getMessage());
    }
  }

  public SealedValue seal(byte[] plaintext, SealedValue.Scope scope, String namespace, String app, String key) {
    try {
      byte[] ct = encrypt.encrypt(plaintext, SealedValue.context(scope, namespace, app, key));
      return new SealedValue(scope, ct);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("sealing failed", e);
    }
  }
}
