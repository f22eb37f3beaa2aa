package io.safedefaults.microapp.kms;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * local-kms does not check signatures, so the signer is checked against AWS's published SigV4 test
 * suite (aws-sig-v4-test-suite, case post-vanilla: POST / with an empty body).
 */
class SigV4Test {
  @Test
  void matchesAwsPostVanillaVector() throws Exception {
    Map<String, String> h = SigV4.sign(URI.create("https://example.amazonaws.com"), "us-east-1", "service", Map.of(),
        new byte[0], new AwsCredentials.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null),
        Instant.parse("2015-08-30T12:36:00Z"));
    assertThat(h.get("authorization")).isEqualTo("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
        + "aws4_request, SignedHeaders=host;x-amz-date, "
        + "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    assertThat(h.get("x-amz-date")).isEqualTo("20150830T123600Z");
  }
}
