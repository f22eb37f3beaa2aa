package io.safedefaults.microapp.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The configuration contract with the operator, and its one-line errors. */
class ConfigLoaderTest {
  static final String OPERATOR_EXAMPLE = """
      { "version": 1, "listenPort": 4180, "adminPort": 4181, "upstream": "http://127.0.0.1:8080",
        "visibility": "private", "publicUrl": "https://where2eat.apps.example.com",
        "oidc": {"issuer": "https://login.example.com/realms/acme", "clientId": "where2eat",
                 "redirectPath": "/oauth2/callback", "scopes": ["openid","email","profile","groups"], "groupsClaim": "groups"},
        "allowedGroups": ["food-team"], "allowedEmailDomains": ["acme.com"],
        "adminPaths": {"paths": ["/admin/**", "/export"], "required": true, "amr": ["mfa","otp","hwk","swk","fpt"]},
        "session": {"ttlSeconds": 28800, "rememberMe": false, "keysetFile": "/etc/microapp-sidecar/keys/session-keyset.json"},
        "rateLimit": {"perUserPerMinute": 60, "perIpPerMinute": 100, "perIpBurstPerSecond": 10},
        "trustedProxyCidrs": [], "hsts": "max-age=31536000; includeSubDomains" }
      """;

  @Test
  void theOperatorsGeneratedConfigurationIsAccepted() throws Exception {
    // the operator's golden rendering, checked in beside its tests: both ends of the contract
    Path golden = Path.of("..", "operator", "src", "test", "resources", "golden", "where2eat.yaml");
    assertThat(golden).as("the operator's golden rendering").exists();
    String json = configJsonFrom(Files.readAllLines(golden));
    SidecarConfig c = ConfigLoader.parse(json);
    assertThat(c.visibility()).isEqualTo(SidecarConfig.Visibility.PRIVATE);
    assertThat(c.oidc().issuer()).isEqualTo("https://login.example.com/realms/acme");
    assertThat(c.adminPaths().paths()).containsExactly("/admin/**", "/export");
    assertThat(c.session().ttlSeconds()).isEqualTo(28800);
    assertThat(c.csp()).isEqualTo(SidecarConfig.DEFAULT_CSP);
    assertThat(c.redis()).isNull();
    assertThat(c.rateLimit().perPathQuotas()).isEmpty();
  }

  /** Pulls the config.json block out of the ConfigMap in the operator's golden YAML. */
  static String configJsonFrom(List<String> yaml) {
    return blockFrom(yaml, "config.json");
  }

  /** Pulls one key's literal block ({@code key: |}) out of the operator's golden YAML. */
  static String blockFrom(List<String> yaml, String key) {
    int start = -1;
    for (int i = 0; i < yaml.size(); i++) {
      if (yaml.get(i).trim().equals(key + ": |")) {
        start = i + 1;
        break;
      }
    }
    assertThat(start).as(key + " in the operator's golden file").isPositive();
    String indent = yaml.get(start).replaceAll("^(\\s*).*", "$1");
    return yaml.subList(start, yaml.size()).stream().takeWhile(l -> l.startsWith(indent) || l.isBlank())
        .map(l -> l.length() >= indent.length() ? l.substring(indent.length()) : l).collect(Collectors.joining("\n"));
  }

  /** Both 0 is the operator's "no per-IP limit in the sidecar"; one of them 0 is a mistake. */
  @Test
  void thePerIpLimitIsOffOnlyWhenBothFiguresAreZero() {
    String on = OPERATOR_EXAMPLE.replaceAll("\"perIpPerMinute\": \\d+", "\"perIpPerMinute\": %d")
        .replaceAll("\"perIpBurstPerSecond\": \\d+", "\"perIpBurstPerSecond\": %d");
    assertThat(ConfigLoader.parse(String.format(on, 0, 0)).rateLimit().perIpPerMinute()).isZero();
    assertThatThrownBy(() -> ConfigLoader.parse(String.format(on, 0, 10)))
        .hasMessageStartingWith("field 'rateLimit.perIpPerMinute' must be at least 1");
    assertThatThrownBy(() -> ConfigLoader.parse(String.format(on, 100, 0)))
        .hasMessageStartingWith("field 'rateLimit.perIpBurstPerSecond' must be at least 1");
  }

  @Test
  void anUnknownFieldIsNamedInOneLine() {
    String json = OPERATOR_EXAMPLE.replace("\"groupsClaim\": \"groups\"", "\"groupsClaim\": \"groups\", \"grupsClaim\": \"x\"");
    assertThatThrownBy(() -> ConfigLoader.parse(json))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("unknown field 'oidc.grupsClaim'")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void aWrongTypeNamesTheField() {
    String json = OPERATOR_EXAMPLE.replace("\"perUserPerMinute\": 60", "\"perUserPerMinute\": \"sixty\"");
    assertThatThrownBy(() -> ConfigLoader.parse(json)).hasMessageStartingWith("field 'rateLimit.perUserPerMinute'")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void unsafeOrIncompleteSettingsAreRefused() {
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"issuer\": \"https://login.example.com/realms/acme\",", "")))
        .hasMessage("field 'oidc.issuer' is required when visibility is private");
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("https://login.example.com", "http://login.example.com")))
        .hasMessageStartingWith("field 'oidc.issuer' must be an https:// URL");
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"acme.com\"]", "\"*.acme.com\"]")))
        .hasMessageStartingWith("field 'allowedEmailDomains'");
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"/export\"", "\"/export/%2e%2e\"")))
        .hasMessageStartingWith("field 'adminPaths.paths[1]'");
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"rememberMe\": false", "\"rememberMe\": true")))
        .hasMessageStartingWith("field 'session.rememberMe' must be false");
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"trustedProxyCidrs\": []", "\"trustedProxyCidrs\": [\"ingress.local\"]")))
        .hasMessageStartingWith("field 'trustedProxyCidrs[0]'");
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"version\": 1", "\"version\": 2")))
        .hasMessageStartingWith("field 'version' must be 1");
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"rememberMe\": false", "\"rememberMe\": false, \"keysetReloadSeconds\": 0")))
        .hasMessageStartingWith("field 'session.keysetReloadSeconds' must be between 1 and 3600");
    assertThatThrownBy(() -> ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"adminPort\": 4181", "\"adminPort\": 4180")))
        .hasMessageContaining("must differ");
    // absent: the keyset is checked for rotation every 30 s
    assertThat(ConfigLoader.parse(OPERATOR_EXAMPLE).session().keysetReloadSeconds()).isEqualTo(30);
  }

  /** The session block as the operator writes it with --kms-session-key-uri (auth/SidecarConfig). */
  static final String KMS_SESSION = """
      "session": {"ttlSeconds": 28800, "rememberMe": false, "keysetFile": "/etc/microapp-sidecar/keys/session-keyset.kms",
        "kms": {"uri": "vault-transit://vault.example.com:8200/transit/keys/microapp-sessions",
                "vault": {"authPath": "kubernetes", "role": "microapp-sidecar", "tokenFile": "/var/run/secrets/safedefaults.io/kms/token"},
                "app": {"namespace": "team-food", "name": "where2eat"}}},""";

  @Test
  void aSessionKmsBlockIsReadStrictlyAndEachMistakeNamesItsField() {
    String session = OPERATOR_EXAMPLE.substring(OPERATOR_EXAMPLE.indexOf("\"session\""),
        OPERATOR_EXAMPLE.indexOf("\"rateLimit\""));
    String good = OPERATOR_EXAMPLE.replace(session, KMS_SESSION + "\n  ");
    SidecarConfig.SessionKms kms = ConfigLoader.parse(good).session().kms();
    assertThat(kms.vault().role()).isEqualTo("microapp-sidecar");
    assertThat(kms.app().namespace()).isEqualTo("team-food");
    assertThat(ConfigLoader.parse(OPERATOR_EXAMPLE).session().kms()).as("absent: files as they are").isNull();
    String[][] broken = {
        {"vault-transit://vault.example.com:8200/transit/keys/microapp-sessions", "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/k",
            "field 'session.kms.aws' is required, and alone"},
        {"vault-transit://vault.example.com:8200/transit/keys/microapp-sessions", "vault-transit://vault.example.com/transit/microapp",
            "field 'session.kms.uri': is not a Transit key path"},
        {"vault-transit://vault.example.com:8200/transit/keys/microapp-sessions", "vault-transit://vault example/transit/keys/k",
            "field 'session.kms.uri': contains spaces"},
        {"\"authPath\": \"kubernetes\"", "\"authPath\": \"../sys\"", "field 'session.kms.vault.authPath'"},
        {"\"role\": \"microapp-sidecar\"", "\"role\": \"a/b\"", "field 'session.kms.vault.role'"},
        {", \"tokenFile\": \"/var/run/secrets/safedefaults.io/kms/token\"", "", "field 'session.kms.vault.tokenFile' is required"},
        {"\"namespace\": \"team-food\"", "\"namespace\": \"Team_Food\"", "field 'session.kms.app'"},
        {"\"app\": {\"namespace\": \"team-food\", \"name\": \"where2eat\"}", "\"app\": null", "field 'session.kms.app'"},
        {"\"uri\": ", "\"caFile\": \"/nonexistent/kms-ca.pem\", \"uri\": ", "field 'session.kms.caFile'"},
        {"\"uri\": ", "\"endpoint\": \"ftp://vault\", \"uri\": ", "field 'session.kms.endpoint'"},
        {"\"uri\": ", "\"token\": \"s.pasted\", \"uri\": ", "token"},
    };
    String aws = good.replace("vault-transit://vault.example.com:8200/transit/keys/microapp-sessions",
        "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/3c2f6a2b").replace(
        "\"vault\": {\"authPath\": \"kubernetes\", \"role\": \"microapp-sidecar\",",
        "\"aws\": {\"roleArn\": \"arn:aws:iam::111122223333:role/microapp-sidecar\",");
    assertThat(ConfigLoader.parse(aws).session().kms().aws().roleArn()).endsWith(":role/microapp-sidecar");
    String[][] awsBroken = {
        {"arn:aws:iam::111122223333:role/microapp-sidecar", "arn:aws:iam::1111:role/x", "field 'session.kms.aws.roleArn'"},
        {"\"aws\": {", "\"vault\": {\"authPath\": \"k\", \"role\": \"r\", \"tokenFile\": \"/t\"}, \"aws\": {",
            "field 'session.kms.aws' is required, and alone"},
        {"\"tokenFile\": \"/var/run", "\"stsEndpoint\": \"https://sts.example.com/path\", \"tokenFile\": \"/var/run",
            "field 'session.kms.aws.stsEndpoint'"},
    };
    for (String[] b : awsBroken) {
      assertThat(aws).as("fixture contains %s", b[0]).contains(b[0]);
      assertThatThrownBy(() -> ConfigLoader.parse(aws.replace(b[0], b[1]))).as(b[1]).isInstanceOf(ConfigException.class)
          .hasMessageContaining(b[2]);
    }
    for (String[] b : broken) {
      assertThat(good).as("fixture contains %s", b[0]).contains(b[0]);
      assertThatThrownBy(() -> ConfigLoader.parse(good.replace(b[0], b[1]))).as(b[1])
          .isInstanceOf(ConfigException.class).hasMessageContaining(b[2])
          .satisfies(e -> assertThat(e.getMessage()).as("never echoes a pasted token").doesNotContain("s.pasted"));
    }
  }

  @Test
  void theOptionalFieldsTheSidecarAddedAreReadWithTheirValues() {
    String json = OPERATOR_EXAMPLE
        .replace("\"groupsClaim\": \"groups\"}", "\"groupsClaim\": \"groups\", \"clientSecretFile\": \"/etc/microapp-sidecar/client/secret\"}")
        .replace("\"amr\": [\"mfa\",\"otp\",\"hwk\",\"swk\",\"fpt\"]}", "\"amr\": [\"mfa\"], \"acr\": [\"gold\"]}")
        .replace("\"perIpBurstPerSecond\": 10}", "\"perIpBurstPerSecond\": 10, \"perPathQuotas\": [{\"path\": \"/export\", \"perUserPerMinute\": 5}]}")
        .replace("\"hsts\":", "\"csp\": \"default-src 'self'; img-src 'self' data:\", \"redis\": {\"url\": \"redis://redis.team-food:6379\"}, "
            + "\"userIdSaltFile\": \"/etc/salt\", \"hsts\":");
    SidecarConfig c = ConfigLoader.parse(json);
    assertThat(c.oidc().clientSecretFile()).isEqualTo("/etc/microapp-sidecar/client/secret");
    assertThat(c.adminPaths().acr()).containsExactly("gold");
    assertThat(c.rateLimit().perPathQuotas()).containsExactly(new SidecarConfig.PathQuota("/export", 5));
    assertThat(c.csp()).contains("img-src 'self' data:");
    assertThat(c.redis().keyPrefix()).isEqualTo("where2eat"); // defaults to the client id
    assertThat(c.userIdSaltFile()).isEqualTo("/etc/salt");
  }

  @Test
  void aPublicAppNeedsNoIssuer() {
    SidecarConfig c = ConfigLoader.parse(OPERATOR_EXAMPLE.replace("\"private\"", "\"public\"")
        .replace("\"issuer\": \"https://login.example.com/realms/acme\",", ""));
    assertThat(c.visibility()).isEqualTo(SidecarConfig.Visibility.PUBLIC);
    assertThat(c.oidc().issuer()).isNull();
  }
}
