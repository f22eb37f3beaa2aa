package io.safedefaults.microapp.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.crypto.tink.Aead;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;

/**
 * A HashiCorp Vault / OpenBao Transit key as a Tink {@link Aead}: {@code POST /v1/<mount>/encrypt/<key>}
 * and {@code /decrypt/<key>}, authenticated with a {@link VaultToken}: the token in a file (read for
 * every call, so a rotated token file is picked up; Vault Agent writes it), or a Kubernetes-auth
 * login with the pod's projected service-account token ({@link VaultKubernetesLogin}).
 *
 * <p>Associated data: Transit's {@code context} works only with keys created {@code derived=true}
 * and is refused otherwise, so it is not relied on. Instead the associated data is bound by
 * encrypting it with the plaintext: Vault encrypts {@code u32 length || associatedData || plaintext}
 * (AES-256-GCM96 by default, authenticated), and decrypt returns the plaintext only if what comes
 * back starts with exactly the associated data asked for (compared in constant time). A ciphertext
 * made for another Secret is refused, never opened as this one's keyset.
 */
public final class VaultTransitAead implements Aead {
  private final KmsUri key;
  private final VaultToken token;
  private final KmsHttp http;

  VaultTransitAead(KmsUri key, Path tokenFile, KmsHttp http) {
    this(key, new VaultToken.FromFile(tokenFile, Kms.TOKEN_FLAG), http);
  }

  VaultTransitAead(KmsUri key, VaultToken token, KmsHttp http) {
    this.key = key;
    this.token = token;
    this.http = http;
  }

  @Override
  public byte[] encrypt(byte[] plaintext, byte[] associatedData) throws GeneralSecurityException {
    byte[] ad = associatedData == null ? new byte[0] : associatedData;
    byte[] framed = ByteBuffer.allocate(4 + ad.length + plaintext.length).putInt(ad.length).put(ad).put(plaintext).array();
    ObjectNode req = KmsHttp.JSON.createObjectNode().put("plaintext", Base64.getEncoder().encodeToString(framed));
    JsonNode data = call("encrypt", req);
    if (!data.path("ciphertext").isTextual()) {
      throw new GeneralSecurityException(http.what() + " encrypt answered without data.ciphertext");
    }
    return data.get("ciphertext").asText().getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public byte[] decrypt(byte[] ciphertext, byte[] associatedData) throws GeneralSecurityException {
    byte[] ad = associatedData == null ? new byte[0] : associatedData;
    ObjectNode req = KmsHttp.JSON.createObjectNode().put("ciphertext", new String(ciphertext, StandardCharsets.US_ASCII));
    JsonNode data = call("decrypt", req);
    if (!data.path("plaintext").isTextual()) {
      throw new GeneralSecurityException(http.what() + " decrypt answered without data.plaintext");
    }
    byte[] framed = Base64.getDecoder().decode(data.get("plaintext").asText());
    if (framed.length < 4) {
      throw new GeneralSecurityException("associated data mismatch: not a ciphertext of this client");
    }
    int len = ByteBuffer.wrap(framed).getInt();
    if (len != ad.length || framed.length < 4 + len
        || !MessageDigest.isEqual(Arrays.copyOfRange(framed, 4, 4 + len), ad)) {
      throw new GeneralSecurityException("associated data mismatch: the ciphertext was made for another object");
    }
    return Arrays.copyOfRange(framed, 4 + len, framed.length);
  }

  private JsonNode call(String op, ObjectNode req) throws GeneralSecurityException {
    var uri = key.endpoint().resolve("/v1/" + key.mount() + "/" + op + "/" + key.key());
    byte[] body = KmsHttp.JSON.writeValueAsBytesUnchecked(req);
    KmsHttp.Reply reply = http.post(uri, Map.of("X-Vault-Token", token.get(), "Content-Type", "application/json"), body);
    if (reply.status() == 403 && token.renewable()) {
      token.refused(); // a login token revoked or expired early: one new login, then the answer stands
      reply = http.post(uri, Map.of("X-Vault-Token", token.get(), "Content-Type", "application/json"), body);
    }
    if (reply.status() != 200) {
      // 400 (bad ciphertext, wrong key), 403 (token lacks the policy), 404 (no such key or mount)
      throw new GeneralSecurityException(http.what() + " refused " + op + " with Transit key " + key.mount() + "/keys/"
          + key.key() + ": HTTP " + reply.status() + KmsHttp.errorName(reply.body()));
    }
    return reply.body().path("data");
  }
}
