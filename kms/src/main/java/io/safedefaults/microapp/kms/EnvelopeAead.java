package io.safedefaults.microapp.kms;

import com.google.crypto.tink.Aead;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Envelope encryption: a fresh AES-256-GCM data key per message, wrapped by the KMS key (with the
 * same associated data), so the KMS sees 32 bytes whatever the keyset's size (AWS KMS takes at most
 * 4 KiB) and the associated data is bound twice, by the KMS and by the local AEAD.
 *
 * <p>Tink's own {@code KmsEnvelopeAead} is not used because it sends empty associated data to the
 * KMS, which would leave AWS's EncryptionContext (and so CloudTrail) blank. Format:
 * {@code 0x01 || u32 len || wrapped data key || 12-byte nonce || ciphertext+tag}.
 */
public final class EnvelopeAead implements Aead {
  private static final byte VERSION = 1;
  private static final SecureRandom RANDOM = new SecureRandom();
  private final Aead remote;

  public EnvelopeAead(Aead remote) {
    this.remote = remote;
  }

  @Override
  public byte[] encrypt(byte[] plaintext, byte[] associatedData) throws GeneralSecurityException {
    byte[] dek = new byte[32];
    RANDOM.nextBytes(dek);
    byte[] nonce = new byte[12];
    RANDOM.nextBytes(nonce);
    try {
      byte[] wrapped = remote.encrypt(dek, associatedData);
      byte[] ct = gcm(Cipher.ENCRYPT_MODE, dek, nonce, associatedData).doFinal(plaintext);
      return ByteBuffer.allocate(1 + 4 + wrapped.length + nonce.length + ct.length)
          .put(VERSION).putInt(wrapped.length).put(wrapped).put(nonce).put(ct).array();
    } finally {
      Arrays.fill(dek, (byte) 0);
    }
  }

  @Override
  public byte[] decrypt(byte[] ciphertext, byte[] associatedData) throws GeneralSecurityException {
    ByteBuffer in = ByteBuffer.wrap(ciphertext);
    if (ciphertext.length < 1 + 4 + 12 + 16 || in.get() != VERSION) {
      throw new GeneralSecurityException("not a KMS envelope (version 1)");
    }
    int len = in.getInt();
    if (len <= 0 || len > in.remaining() - 12 - 16) {
      throw new GeneralSecurityException("not a KMS envelope (bad wrapped key length)");
    }
    byte[] wrapped = new byte[len];
    in.get(wrapped);
    byte[] nonce = new byte[12];
    in.get(nonce);
    byte[] ct = new byte[in.remaining()];
    in.get(ct);
    byte[] dek = remote.decrypt(wrapped, associatedData);
    try {
      if (dek.length != 32) {
        throw new GeneralSecurityException("the KMS returned a data key of the wrong size");
      }
      return gcm(Cipher.DECRYPT_MODE, dek, nonce, associatedData).doFinal(ct);
    } finally {
      Arrays.fill(dek, (byte) 0);
    }
  }

  private static Cipher gcm(int mode, byte[] key, byte[] nonce, byte[] ad) throws GeneralSecurityException {
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
    if (ad != null) {
      c.updateAAD(ad);
    }
    return c;
  }
}
