package io.safedefaults.microapp.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The AWS KMS client against local-kms, a real KMS JSON API server. */
class AwsKmsAeadTest {
  static LocalKms kms;

  @BeforeAll
  static void start() throws Exception {
    kms = new LocalKms();
  }

  @AfterAll
  static void stop() throws Exception {
    kms.close();
  }

  static byte[] ad(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void envelopeRoundTripsAnySizeUnderTheKmsKeyAndTheKmsSeesOnlyTheDataKey() throws Exception {
    Aead kek = kms.kek(LocalKms.KEY_A);
    Random random = new Random(18);
    for (int size : new int[] {0, 1, 31, 4096, 20_000}) { // 20 kB: far over KMS's 4 KiB plaintext limit
      byte[] plain = new byte[size];
      random.nextBytes(plain);
      byte[] ct = kek.encrypt(plain, ad("ns/a"));
      assertThat(kek.decrypt(ct, ad("ns/a"))).isEqualTo(plain);
    }
  }

  @Test
  void theRemoteKeyBindsTheEncryptionContextAndTheKey() throws Exception {
    AwsKmsAead a = (AwsKmsAead) remote(LocalKms.KEY_A);
    byte[] wrapped = a.encrypt(new byte[32], ad("safedefaults.io/sealing-keys ns-1/microapp-sealing-keys"));
    assertThat(a.decrypt(wrapped, ad("safedefaults.io/sealing-keys ns-1/microapp-sealing-keys"))).hasSize(32);
    for (String other : new String[] {"safedefaults.io/sealing-keys ns-2/microapp-sealing-keys", "", "x"}) {
      assertThatThrownBy(() -> a.decrypt(wrapped, ad(other)))
          .isInstanceOf(GeneralSecurityException.class).isNotInstanceOf(KmsUnavailableException.class)
          .hasMessageContaining("InvalidCiphertextException");
    }
    // non-UTF-8 associated data still binds (sent base64)
    byte[] binaryAd = {(byte) 0xff, (byte) 0xfe, 0};
    byte[] w2 = a.encrypt(new byte[] {1, 2, 3}, binaryAd);
    assertThat(a.decrypt(w2, binaryAd)).containsExactly(1, 2, 3);
    assertThatThrownBy(() -> a.decrypt(w2, new byte[] {(byte) 0xff})).isInstanceOf(GeneralSecurityException.class);
    // a ciphertext of key A is refused when the client names key B
    assertThatThrownBy(() -> remote(LocalKms.KEY_B).decrypt(wrapped, ad("safedefaults.io/sealing-keys ns-1/microapp-sealing-keys")))
        .isInstanceOf(GeneralSecurityException.class).isNotInstanceOf(KmsUnavailableException.class);
  }

  @Test
  void anUnknownKeyIsARefusalNamingTheKey() {
    Aead kek = kms.kek("00000000-0000-0000-0000-000000000000");
    assertThatThrownBy(() -> kek.encrypt(new byte[1], ad("x")))
        .isInstanceOf(GeneralSecurityException.class).isNotInstanceOf(KmsUnavailableException.class)
        .hasMessageContaining("refused Encrypt").hasMessageContaining("NotFoundException");
  }

  @Test
  void aKmsThatCannotBeReachedOrNoCredentialsIsUnavailableNotARefusal() throws Exception {
    int closed;
    try (var s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    Aead down = Kms.fromFlags("aws-kms://" + LocalKms.arn(LocalKms.KEY_A), "http://127.0.0.1:" + closed, null, null)
        .kek(LocalKms.ENV);
    assertThatThrownBy(() -> down.encrypt(new byte[1], ad("x"))).isInstanceOf(KmsUnavailableException.class)
        .hasMessageContaining("AWS KMS http://127.0.0.1:" + closed).hasMessageContaining("cannot be reached");
    Aead noCreds = kms.kms(LocalKms.KEY_A).kek(Map.of("HOME", "/nonexistent"));
    assertThatThrownBy(() -> noCreds.encrypt(new byte[1], ad("x"))).isInstanceOf(KmsUnavailableException.class)
        .hasMessageContaining("no AWS credentials");
  }

  @Test
  void credentialsComeFromTheSharedFileProfileWhenTheEnvironmentHasNone() throws Exception {
    java.nio.file.Path f = java.nio.file.Files.createTempFile("aws", "credentials");
    java.nio.file.Files.writeString(f, "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n"
        + "[ops]\naws_access_key_id=AKIDOPS\naws_secret_access_key=s2\naws_session_token=tok\n");
    var ops = new AwsCredentials(Map.of("AWS_SHARED_CREDENTIALS_FILE", f.toString(), "AWS_PROFILE", "ops")).resolve();
    assertThat(ops.accessKeyId()).isEqualTo("AKIDOPS");
    assertThat(ops.sessionToken()).isEqualTo("tok");
    assertThat(ops.toString()).doesNotContain("s2").doesNotContain("tok");
    assertThat(new AwsCredentials(Map.of("AWS_SHARED_CREDENTIALS_FILE", f.toString())).resolve().accessKeyId())
        .isEqualTo("AKIDDEFAULT");
    assertThatThrownBy(() -> new AwsCredentials(Map.of("AWS_SHARED_CREDENTIALS_FILE", f.toString(), "AWS_PROFILE", "nope"))
        .resolve()).hasMessageContaining("profile [nope]");
    Aead viaFile = kms.kms(LocalKms.KEY_A).kek(Map.of("AWS_SHARED_CREDENTIALS_FILE", f.toString()));
    assertThat(viaFile.decrypt(viaFile.encrypt(new byte[] {7}, ad("f")), ad("f"))).containsExactly(7);
    java.nio.file.Files.delete(f);
  }

  private static Aead remote(String keyId) {
    KmsUri uri = KmsUri.parse("aws-kms://" + LocalKms.arn(keyId), kms.endpoint());
    return new AwsKmsAead(uri, new AwsCredentials(LocalKms.ENV), new KmsHttp("AWS KMS " + uri.endpoint(), null),
        java.time.Clock.systemUTC());
  }
}
