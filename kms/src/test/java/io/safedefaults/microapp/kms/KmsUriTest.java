package io.safedefaults.microapp.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** --kms-uri and its companions, parsed in one place: what works, and every kind of mistake named with the fix. */
class KmsUriTest {
  static final String ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

  @Test
  void theDocumentedFormsParse() {
    KmsUri aws = KmsUri.parse("aws-kms://" + ARN, null);
    assertThat(aws).extracting(KmsUri::kind, KmsUri::key, KmsUri::region, KmsUri::endpoint)
        .containsExactly(KmsUri.Kind.AWS_KMS, ARN, "eu-west-1", URI.create("https://kms.eu-west-1.amazonaws.com"));
    assertThat(KmsUri.parse("aws-kms://arn:aws-cn:kms:cn-north-1:123456789012:alias/microapp", null).endpoint())
        .isEqualTo(URI.create("https://kms.cn-north-1.amazonaws.com.cn"));
    assertThat(KmsUri.parse("aws-kms://arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/k", "https://vpce-1.kms.example:443")
        .endpoint()).isEqualTo(URI.create("https://vpce-1.kms.example:443"));
    KmsUri vault = KmsUri.parse("vault-transit://Vault.example.com:8200/transit/keys/microapp", null);
    assertThat(vault).extracting(KmsUri::kind, KmsUri::key, KmsUri::mount, KmsUri::endpoint)
        .containsExactly(KmsUri.Kind.VAULT_TRANSIT, "microapp", "transit", URI.create("https://vault.example.com:8200"));
    assertThat(KmsUri.parse("vault-transit://vault/teams/a/transit/keys/k-1", "http://127.0.0.1:8200/").mount())
        .isEqualTo("teams/a/transit");
    assertThat(Kms.fromFlags(null, null, null, null)).as("no flag, no KMS").isNull();
    assertThat(Kms.fromFlags(" ", "", null, "")).isNull();
  }

  @Test
  void everyMalformedUriIsRefusedNamingTheFlagAndTheFormWithoutEchoingIt() {
    List<String> bad = new ArrayList<>(List.of("", " ", "aws-kms://", "aws-kms://" + ARN + " ", " aws-kms://" + ARN,
        "AWS-KMS://" + ARN, "awskms://" + ARN, "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k",
        "aws-kms://" + ARN.replace("kms", "s3"), "aws-kms://" + ARN.replace("123456789012", "1234"),
        "aws-kms://" + ARN.replace("eu-west-1", "EU-WEST-1"), "aws-kms://" + ARN.replace("key/", "keys/"),
        "aws-kms://" + ARN + "/x", "aws-kms://" + ARN + "?token=s3cr3t", "aws-kms://arn:aws:kms:eu-west-1:123456789012:key/",
        "vault-transit://", "vault-transit://host", "vault-transit:///transit/keys/k", "vault-transit://host/keys/k",
        "vault-transit://host/transit/key/k", "vault-transit://host/transit/keys/", "vault-transit://host/transit/keys/k/",
        "vault-transit://host:0/transit/keys/k", "vault-transit://host:65536/transit/keys/k", "vault-transit://host:/transit/keys/k",
        "vault-transit://user:s3cr3t@host/transit/keys/k", "vault-transit://host/../keys/k", "vault-transit://host/transit/keys/k?x=1",
        "vault-transit://host/transit//keys/k", "vault-transit://-host/transit/keys/k", "vault-transit://host/tr ansit/keys/k",
        "vault-transit://host/transit/keys/k\u00e9", "vault-transit://[::1]/transit/keys/k"));
    for (char c : "\t\n\r\u0000\u007f".toCharArray()) {
      bad.add("vault-transit://host/transit/keys/k" + c);
    }
    for (String value : bad) {
      assertThatThrownBy(() -> KmsUri.parse(value, null)).as(value).isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("--kms-uri ")
          .satisfies(e -> assertThat(e.getMessage()).as("names a form that works").containsAnyOf("aws-kms://arn:aws:kms:",
              "vault-transit://<host>"))
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cr3t"));
    }
  }

  @Test
  void badCompanionsAreRefusedNamingTheirFlag() {
    String vault = "vault-transit://vault:8200/transit/keys/k";
    for (String endpoint : List.of("ftp://x", "kms.example.com", "https://", "https://u:p@x", "https://x/path",
        "https://x?q=1", "https://x#f", "https://x y")) {
      assertThatThrownBy(() -> KmsUri.parse("aws-kms://" + ARN, endpoint)).as(endpoint)
          .hasMessageStartingWith("--kms-endpoint ");
    }
    assertThatThrownBy(() -> Kms.fromFlags(vault, null, null, null)).hasMessageStartingWith("--kms-vault-token-file is required");
    assertThatThrownBy(() -> Kms.fromFlags("aws-kms://" + ARN, null, "/t", null))
        .hasMessageStartingWith("--kms-vault-token-file applies to vault-transit:// keys only");
    assertThatThrownBy(() -> Kms.fromFlags(vault, null, "/t", "/nonexistent/ca.pem"))
        .hasMessageStartingWith("--kms-ca-file /nonexistent/ca.pem cannot be read");
    for (String[] alone : List.of(new String[] {"https://x", null, null}, new String[] {null, "/t", null},
        new String[] {null, null, "/ca"})) {
      assertThatThrownBy(() -> Kms.fromFlags(null, alone[0], alone[1], alone[2])).hasMessageContaining("need --kms-uri");
    }
  }
}
