package io.safedefaults.microapp.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Vault Transit client against {@link TransitTestDouble} (no Vault or OpenBao server builds
 * from the registries here; the double's javadoc says exactly why), over HTTPS with a CA bundle.
 */
class VaultTransitAeadTest {
  static TransitTestDouble vault;
  static Path tokenFile;

  @BeforeAll
  static void start() throws Exception {
    vault = new TransitTestDouble("transit", "microapp", "other");
    tokenFile = vault.operatorTokenFile();
  }

  @AfterAll
  static void stop() throws Exception {
    vault.close();
  }

  static Aead kek(String key) throws java.io.IOException {
    return vault.kek(key);
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void theAssociatedDataIsBoundInsideTheTransitCiphertext() throws Exception {
    Path token = tokenFile;
    KmsUri uri = KmsUri.parse("vault-transit://localhost:" + vault.port() + "/transit/keys/microapp", null);
    VaultTransitAead remote = new VaultTransitAead(uri, token, new KmsHttp("Vault Transit", vault.caFile));
    byte[] ad = b("safedefaults.io/sealing-keys ns-1/microapp-sealing-keys");
    byte[] ct = remote.encrypt(b("data key"), ad);
    assertThat(new String(ct, StandardCharsets.US_ASCII)).startsWith("vault:v1:");
    assertThat(remote.decrypt(ct, ad)).isEqualTo(b("data key"));
    List<byte[]> others = new ArrayList<>(List.of(new byte[0], b("x"), b("safedefaults.io/sealing-keys ns-1/microapp-sealing-key"),
        b("safedefaults.io/sealing-keys ns-1/microapp-sealing-keysX"), b("safedefaults.io/sealing-keys ns-1/microapp-sealing-keysdata key")));
    for (int i = 0; i < ad.length; i += 7) {
      byte[] flipped = ad.clone();
      flipped[i] ^= 1;
      others.add(flipped);
    }
    for (byte[] other : others) {
      assertThatThrownBy(() -> remote.decrypt(ct, other)).hasMessageContaining("associated data mismatch");
    }
    // the plaintext of a ciphertext made with empty associated data does not pass for one with some
    byte[] empty = remote.encrypt(ad, new byte[0]);
    assertThatThrownBy(() -> remote.decrypt(empty, ad)).hasMessageContaining("associated data mismatch");
  }

  @Test
  void refusalsAndOutagesAreToldApartAndNameTheFlag() throws Exception {
    Aead aead = kek("microapp");
    byte[] ct = aead.encrypt(b("x"), b("ad"));
    byte[] tampered = ct.clone();
    tampered[tampered.length - 1] ^= 1;
    assertThatThrownBy(() -> aead.decrypt(tampered, b("ad"))).isInstanceOf(GeneralSecurityException.class);

    String good = vault.token;
    vault.token = "s.rotated";
    try {
      assertThatThrownBy(() -> aead.encrypt(b("x"), b("ad"))).isNotInstanceOf(KmsUnavailableException.class)
          .hasMessageContaining("refused encrypt with Transit key transit/keys/microapp: HTTP 403 (permission denied)");
      Files.writeString(tokenFile, "s.rotated");
      assertThat(aead.decrypt(ct, b("ad"))).as("a rotated token file is read at the next call").isEqualTo(b("x"));
    } finally {
      vault.token = good;
      Files.writeString(tokenFile, good);
    }

    Aead noToken = Kms.fromFlags("vault-transit://localhost:" + vault.port() + "/transit/keys/microapp", null,
        vault.dir.resolve("absent").toString(), vault.caFile.toString()).kek(Map.of());
    assertThatThrownBy(() -> noToken.encrypt(b("x"), b("ad"))).isInstanceOf(KmsUnavailableException.class)
        .hasMessageContaining("--kms-vault-token-file");

    Aead untrusted = Kms.fromFlags("vault-transit://localhost:" + vault.port() + "/transit/keys/microapp", null,
        tokenFile.toString(), null).kek(Map.of());
    assertThatThrownBy(() -> untrusted.encrypt(b("x"), b("ad"))).as("without --kms-ca-file the JDK's CAs are trusted")
        .isInstanceOf(KmsUnavailableException.class).hasMessageContaining("SSLHandshakeException");

    int closed;
    try (var s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    Aead down = Kms.fromFlags("vault-transit://localhost:" + closed + "/transit/keys/microapp", null, tokenFile.toString(),
        vault.caFile.toString()).kek(Map.of());
    assertThatThrownBy(() -> down.encrypt(b("x"), b("ad"))).isInstanceOf(KmsUnavailableException.class)
        .hasMessageContaining("Vault Transit https://localhost:" + closed + " cannot be reached");
  }
}
