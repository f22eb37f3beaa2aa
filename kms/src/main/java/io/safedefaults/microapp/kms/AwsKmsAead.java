package io.safedefaults.microapp.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.crypto.tink.Aead;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An AWS KMS key as a Tink {@link Aead}: {@code TrentService.Encrypt} / {@code Decrypt} of the KMS
 * JSON API, signed with SigV4. The associated data travels as the {@code EncryptionContext}
 * (entry {@value #CONTEXT_KEY}), which KMS binds to the ciphertext and writes into CloudTrail: so
 * the key's audit log names the Secret each unwrap was for, and a ciphertext only opens with the
 * same context. Decrypt names the key too, so a ciphertext of another key is refused.
 */
public final class AwsKmsAead implements Aead {
  static final String CONTEXT_KEY = "safedefaults.io/associated-data";
  private final KmsUri key;
  private final AwsCredentials credentials;
  private final KmsHttp http;
  private final Clock clock;

  AwsKmsAead(KmsUri key, AwsCredentials credentials, KmsHttp http, Clock clock) {
    this.key = key;
    this.credentials = credentials;
    this.http = http;
    this.clock = clock;
  }

  @Override
  public byte[] encrypt(byte[] plaintext, byte[] associatedData) throws GeneralSecurityException {
    ObjectNode req = KmsHttp.JSON.createObjectNode();
    req.put("KeyId", key.key());
    req.put("Plaintext", Base64.getEncoder().encodeToString(plaintext));
    context(req, associatedData);
    JsonNode reply = call("Encrypt", req);
    if (!reply.path("CiphertextBlob").isTextual()) {
      throw new GeneralSecurityException(http.what() + " Encrypt answered without CiphertextBlob");
    }
    return Base64.getDecoder().decode(reply.get("CiphertextBlob").asText());
  }

  @Override
  public byte[] decrypt(byte[] ciphertext, byte[] associatedData) throws GeneralSecurityException {
    ObjectNode req = KmsHttp.JSON.createObjectNode();
    req.put("KeyId", key.key());
    req.put("CiphertextBlob", Base64.getEncoder().encodeToString(ciphertext));
    context(req, associatedData);
    JsonNode reply = call("Decrypt", req);
    if (!reply.path("Plaintext").isTextual()) {
      throw new GeneralSecurityException(http.what() + " Decrypt answered without Plaintext");
    }
    return Base64.getDecoder().decode(reply.get("Plaintext").asText());
  }

  /** UTF-8 associated data as it is (readable in CloudTrail), anything else base64 under another name. */
  private static void context(ObjectNode req, byte[] ad) {
    if (ad == null || ad.length == 0) {
      return;
    }
    try {
      String text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(ad)).toString();
      req.putObject("EncryptionContext").put(CONTEXT_KEY, text);
    } catch (CharacterCodingException e) {
      req.putObject("EncryptionContext").put(CONTEXT_KEY + "-base64", Base64.getEncoder().encodeToString(ad));
    }
  }

  private JsonNode call(String action, ObjectNode req) throws GeneralSecurityException {
    byte[] body = KmsHttp.JSON.writeValueAsBytesUnchecked(req);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("content-type", "application/x-amz-json-1.1");
    headers.put("x-amz-target", "TrentService." + action);
    Map<String, String> all = new LinkedHashMap<>(headers);
    all.putAll(SigV4.sign(key.endpoint(), key.region(), "kms", headers, body, credentials.resolve(), clock.instant()));
    KmsHttp.Reply reply = http.post(key.endpoint().resolve("/"), all, body);
    if (reply.status() != 200) {
      // InvalidCiphertextException (wrong key, context or bytes), AccessDeniedException, NotFoundException,
      // DisabledException ... : a refusal, not an outage.
      throw new GeneralSecurityException(http.what() + " refused " + action + " with key " + key.key() + ": HTTP "
          + reply.status() + KmsHttp.errorName(reply.body()));
    }
    return reply.body();
  }
}
