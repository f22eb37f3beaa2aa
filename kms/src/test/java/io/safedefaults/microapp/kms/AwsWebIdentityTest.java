package io.safedefaults.microapp.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IAM roles for service accounts: credentials from STS AssumeRoleWithWebIdentity (the STS TEST
 * DOUBLE), used to sign real AWS KMS requests to local-kms through a front that verifies each
 * SigV4 signature against the credentials STS issued.
 */
class AwsWebIdentityTest {
  static final String ROLE = "arn:aws:iam::" + LocalKms.ACCOUNT + ":role/microapp-sidecar";
  static LocalKms kms;
  static StsTestDouble sts;
  static Path token;

  @BeforeAll
  static void start() throws Exception {
    kms = new LocalKms();
    sts = new StsTestDouble(InetAddress.getLoopbackAddress(), kms.port, LocalKms.REGION,
        jwt -> Optional.ofNullable(Map.of("jwt-where2eat", "team-food/where2eat", "jwt-other", "team-food/other").get(jwt)));
    sts.role(ROLE, Set.of("team-food/where2eat"));
    token = Files.createTempFile("web-identity", ".jwt");
  }

  @AfterAll
  static void stop() throws Exception {
    sts.close();
    kms.close();
    Files.deleteIfExists(token);
  }

  static Map<String, String> env() {
    Map<String, String> env = new HashMap<>();
    env.put("AWS_ROLE_ARN", ROLE);
    env.put("AWS_WEB_IDENTITY_TOKEN_FILE", token.toString());
    env.put("AWS_ENDPOINT_URL_STS", sts.stsEndpoint());
    env.put("AWS_ROLE_SESSION_NAME", "microapp-sidecar-team-food-where2eat");
    return env;
  }

  static Aead kek(Map<String, String> env, VaultKubernetesLoginTest.MutableClock clock) {
    return Kms.fromFlags("aws-kms://" + LocalKms.arn(LocalKms.KEY_A), sts.kmsEndpoint(), null, null).kek(env, clock);
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aWebIdentityIsAssumedOnceAndItsCredentialsSignTheKmsRequestsUntilShortlyBeforeTheyExpire() throws Exception {
    Files.writeString(token, "jwt-where2eat");
    VaultKubernetesLoginTest.MutableClock clock = new VaultKubernetesLoginTest.MutableClock();
    clock.now = java.time.Instant.now();
    sts.clock = clock;
    Aead aead = kek(env(), clock);
    int before = sts.assumed.get();
    byte[] ct = aead.encrypt(b("data key"), b("safedefaults.io/session-keyset team-food/where2eat"));
    for (int i = 0; i < 4; i++) {
      assertThat(aead.decrypt(ct, b("safedefaults.io/session-keyset team-food/where2eat"))).isEqualTo(b("data key"));
    }
    assertThat(sts.assumed.get() - before).as("one AssumeRoleWithWebIdentity serves the credentials' life").isEqualTo(1);
    clock.now = clock.now.plus(Duration.ofMinutes(56));
    assertThat(aead.decrypt(ct, b("safedefaults.io/session-keyset team-food/where2eat"))).isEqualTo(b("data key"));
    assertThat(sts.assumed.get() - before).as("five minutes before expiry they are renewed").isEqualTo(2);
  }

  @Test
  void aTokenTheRoleDoesNotTrustGetsNothingAndTheFrontRefusesCredentialsStsDidNotIssue() throws Exception {
    sts.clock = java.time.Clock.systemUTC();
    for (String jwt : new String[] {"jwt-other", "jwt-forged"}) {
      Files.writeString(token, jwt);
      Aead aead = kek(env(), new VaultKubernetesLoginTest.MutableClock());
      assertThatThrownBy(() -> aead.encrypt(b("x"), b("ad"))).as(jwt).isInstanceOf(KmsUnavailableException.class)
          .hasMessageContaining("refused AssumeRoleWithWebIdentity for " + ROLE)
          .hasMessageContaining(jwt.equals("jwt-other") ? "(AccessDenied)" : "(InvalidIdentityToken)")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain(jwt));
    }
    Files.delete(token);
    assertThatThrownBy(() -> kek(env(), new VaultKubernetesLoginTest.MutableClock()).encrypt(b("x"), b("ad"))).isInstanceOf(KmsUnavailableException.class)
        .hasMessageContaining("AWS_WEB_IDENTITY_TOKEN_FILE");
    Files.writeString(token, "jwt-where2eat");

    // keys in the environment come first, as in the SDK; the front knows them not, so KMS refuses
    Map<String, String> withKeys = env();
    withKeys.putAll(LocalKms.ENV);
    assertThatThrownBy(() -> kek(withKeys, new VaultKubernetesLoginTest.MutableClock()).encrypt(b("x"), b("ad")))
        .hasMessageContaining("UnrecognizedClientException");
    assertThatThrownBy(() -> kek(Map.of("AWS_ROLE_ARN", "arn:aws:iam::1:role/x", "AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
        new VaultKubernetesLoginTest.MutableClock())).hasMessageContaining("AWS_ROLE_ARN is not an IAM role ARN");
  }

  @Test
  void stsAnswersAreParsedStrictly() {
    String[] hostile = {
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r><AccessKeyId>&x;</AccessKeyId></r>",
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><r>&b;</r>",
        "<r xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include href=\"file:///etc/passwd\" parse=\"text\"/></r>",
        "not xml", "",
    };
    for (String h : hostile) {
      var doc = AwsWebIdentity.parse(h.getBytes(StandardCharsets.UTF_8));
      assertThat(doc == null || !doc.getDocumentElement().getTextContent().contains("root:"))
          .as("parsed without resolving anything: %s", h).isTrue();
      if (h.contains("DOCTYPE")) {
        assertThat(doc).as("a DTD is refused outright").isNull();
      }
    }
  }
}
