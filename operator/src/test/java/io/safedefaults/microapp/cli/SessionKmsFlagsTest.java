package io.safedefaults.microapp.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.safedefaults.microapp.policy.OperatorConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The session KMS flags are checked together at start: each combination that could leave sidecars
 * unable to open their keys, or able to open the sealing keyset, stops the operator with one line
 * naming the flag and the fix; what is accepted is what the sidecars are told.
 */
class SessionKmsFlagsTest {
  static final String VAULT = "vault-transit://vault.example.com:8200/transit/keys/microapp-sessions";
  static final String AWS = "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/3c2f6a2b";
  static final String ROLE = "arn:aws:iam::111122223333:role/microapp-sidecar";

  /** The session key the flags describe, as RunCommand reads them (the KMS flags shared). */
  static OperatorConfig.SessionKeyKms sidecars(String... args) throws Exception {
    RunCommand command = new RunCommand();
    new CommandLine(command).parseArgs(args);
    command.kms.sharedWithSessionKey = true;
    return command.sessionKms.sidecars(command.kms);
  }

  static String[] vaultFlags(String... more) throws Exception {
    Path token = Files.createTempFile("vault", ".token");
    List<String> a = new ArrayList<>(List.of("--kms-vault-token-file", token.toString()));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  @Test
  void whatIsAcceptedIsWhatTheSidecarsAreTold() throws Exception {
    assertThat(sidecars()).as("no flag: keys stay in their Secrets").isNull();
    OperatorConfig.SessionKeyKms vault = sidecars(vaultFlags("--kms-session-key-uri", VAULT));
    assertThat(vault.vault().role()).isEqualTo("microapp-sidecar");
    assertThat(vault.vault().authPath()).isEqualTo("kubernetes");
    assertThat(vault.tokenAudience()).isEqualTo("vault");
    assertThat(vault.aws()).isNull();
    OperatorConfig.SessionKeyKms aws = sidecars("--kms-session-key-uri", AWS, "--kms-sidecar-aws-role-arn", ROLE,
        "--kms-sidecar-sts-endpoint", "https://sts.eu-west-1.amazonaws.com/");
    assertThat(aws.aws().roleArn()).isEqualTo(ROLE);
    assertThat(aws.aws().stsEndpoint()).isEqualTo("https://sts.eu-west-1.amazonaws.com");
    assertThat(aws.tokenAudience()).isEqualTo("sts.amazonaws.com");
    assertThat(aws.vault()).isNull();
    assertThat(sidecars("--kms-session-key-uri", AWS, "--kms-sidecar-aws-role-arn", ROLE,
        "--kms-sidecar-token-audience", "sts.example.com").tokenAudience()).isEqualTo("sts.example.com");
  }

  @Test
  void eachBadCombinationNamesTheFlagAndTheFix() throws Exception {
    Object[][] cases = {
        {vaultFlags("--kms-session-key-uri", VAULT, "--kms-uri", VAULT), "must name another key than --kms-uri"},
        {new String[] {"--kms-session-key-uri", AWS}, "set --kms-sidecar-aws-role-arn"},
        {new String[] {"--kms-session-key-uri", AWS, "--kms-sidecar-aws-role-arn", "arn:aws:iam::1:role/x"},
            "--kms-sidecar-aws-role-arn is not an IAM role ARN"},
        {new String[] {"--kms-session-key-uri", AWS, "--kms-sidecar-aws-role-arn", ROLE, "--kms-sidecar-sts-endpoint",
            "https://sts.example.com/x?y"}, "--kms-sidecar-sts-endpoint must be a base URL"},
        {vaultFlags("--kms-session-key-uri", VAULT, "--kms-sidecar-aws-role-arn", ROLE), "apply to an aws-kms://"},
        {new String[] {"--kms-sidecar-aws-role-arn", ROLE}, "need --kms-session-key-uri"},
        {new String[] {"--kms-session-key-uri", "vault-transit://vault/transit/k"}, "--kms-session-key-uri is not a Transit key path"},
        {new String[] {"--kms-session-key-uri", "gcp-kms://projects/p/keys/k"}, "--kms-session-key-uri has an unknown scheme"},
        {new String[] {"--kms-session-key-uri", VAULT}, "--kms-vault-token-file is required"},
        {vaultFlags("--kms-session-key-uri", VAULT, "--kms-sidecar-vault-role", "a/b"), "Vault role"},
        {vaultFlags("--kms-session-key-uri", VAULT, "--kms-sidecar-vault-auth-path", "../sys"), "Vault auth path"},
        {vaultFlags("--kms-session-key-uri", VAULT, "--kms-sidecar-token-audience", "two words"), "--kms-sidecar-token-audience"},
    };
    for (Object[] c : cases) {
      String[] args = (String[]) c[0];
      assertThatThrownBy(() -> sidecars(args)).as(String.join(" ", args)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining((String) c[1]);
    }
  }
}
