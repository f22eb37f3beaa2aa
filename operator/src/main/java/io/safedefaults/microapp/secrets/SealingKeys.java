package io.safedefaults.microapp.secrets;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeyStatus;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.hybrid.HpkeParameters;
import com.google.crypto.tink.hybrid.HybridConfig;
import com.google.crypto.tink.hybrid.HybridPrivateKey;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;

/**
 * The cluster's sealing keyset (checklist 6): Tink HPKE with X25519, HKDF-SHA256 and AES-256-GCM.
 * Tink's key ids travel in every ciphertext, so the right key is picked directly, unlike
 * sealed-secrets which tries every key. Rotation adds a new primary and keeps every old key, so
 * every existing sealed value still opens.
 */
public final class SealingKeys {
  static final HpkeParameters PARAMETERS;

  static {
    try {
      HybridConfig.register();
      PARAMETERS = HpkeParameters.builder()
          .setKemId(HpkeParameters.KemId.DHKEM_X25519_HKDF_SHA256)
          .setKdfId(HpkeParameters.KdfId.HKDF_SHA256)
          .setAeadId(HpkeParameters.AeadId.AES_256_GCM)
          .setVariant(HpkeParameters.Variant.TINK)
          .build();
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private SealingKeys() {}

  public static KeysetHandle generate() {
    try {
      return KeysetHandle.newBuilder()
          .addEntry(KeysetHandle.generateEntryFromParameters(PARAMETERS).withRandomId().makePrimary())
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not generate a sealing keyset", e);
    }
  }

  /** A new primary key; every existing key stays enabled so old sealed values keep opening. */
  public static KeysetHandle rotate(KeysetHandle current) {
    try {
      return KeysetHandle.newBuilder(current)
          .addEntry(KeysetHandle.generateEntryFromParameters(PARAMETERS).withRandomId().makePrimary())
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not rotate the sealing keyset", e);
    }
  }

  public static KeysetHandle publicKeys(KeysetHandle privateKeys) {
    try {
      return privateKeys.getPublicKeysetHandle();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("not a private hybrid keyset", e);
    }
  }

  public static String serializePrivate(KeysetHandle handle) {
    try {
      return TinkJsonProtoKeysetFormat.serializeKeyset(handle, InsecureSecretKeyAccess.get());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not serialize the sealing keyset", e);
    }
  }

  public static String serializePublic(KeysetHandle handle) {
    try {
      return TinkJsonProtoKeysetFormat.serializeKeysetWithoutSecret(handle);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not serialize the public keyset", e);
    }
  }

  /** Parses a private keyset; the message never echoes key material. */
  public static KeysetHandle parsePrivate(String json) {
    KeysetHandle handle;
    try {
      handle = TinkJsonProtoKeysetFormat.parseKeyset(json, InsecureSecretKeyAccess.get());
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException("not a Tink JSON private keyset");
    }
    // A public keyset parses too; it must not pass for the private one.
    if (!(handle.getPrimary().getKey() instanceof HybridPrivateKey)) {
      throw new IllegalArgumentException("not a Tink JSON private keyset");
    }
    return handle;
  }

  public static KeysetHandle parsePublic(String json) {
    try {
      return TinkJsonProtoKeysetFormat.parseKeysetWithoutSecret(json);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException("not a Tink JSON public keyset (fetch it with 'microapp-operator keys')");
    }
  }

  public static long primaryKeyId(KeysetHandle handle) {
    return Integer.toUnsignedLong(handle.getPrimary().getId());
  }

  /** Ids of every enabled key, oldest first. */
  public static List<Long> keyIds(KeysetHandle handle) {
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < handle.size(); i++) {
      if (handle.getAt(i).getStatus() == KeyStatus.ENABLED) {
        ids.add(Integer.toUnsignedLong(handle.getAt(i).getId()));
      }
    }
    return ids;
  }
}
