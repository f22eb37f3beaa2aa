package io.safedefaults.microapp.cli;

import io.safedefaults.microapp.auth.CaBundle;
import io.safedefaults.microapp.auth.SessionKeyWrapping;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.KmsUri;
import io.safedefaults.microapp.policy.OperatorConfig;
import java.nio.file.Path;
import java.time.Instant;
import picocli.CommandLine.Option;

/**
 * The KMS key that wraps every app's session keyset and user-id salt (off unless
 * --kms-session-key-uri is given). It shares --kms-endpoint, --kms-vault-token-file and
 * --kms-ca-file with {@link KmsOptions}: the operator wraps with its own credentials (Vault token,
 * or the AWS chain of its environment, IRSA included); each sidecar opens its own app's with the
 * token projected into its container, through Vault's Kubernetes auth or an assumed IAM role.
 */
public class SessionKmsOptions {
  static final String FLAG = "--kms-session-key-uri";

  @Option(names = FLAG, defaultValue = "${env:MICROAPP_KMS_SESSION_KEY_URI}",
      description = "Keep every app's session keyset and user-id salt wrapped under this key, another than "
          + "--kms-uri's: vault-transit://<host>[:<port>]/<mount>/keys/<key> (sidecars log in with Vault's "
          + "Kubernetes auth) or aws-kms://arn:aws:kms:... (sidecars assume --kms-sidecar-aws-role-arn) "
          + "(env MICROAPP_KMS_SESSION_KEY_URI).")
  String uri;

  @Option(names = "--kms-sidecar-vault-role", defaultValue = "${env:MICROAPP_KMS_SIDECAR_VAULT_ROLE:-microapp-sidecar}",
      description = "The Vault role of Vault's Kubernetes auth method that sidecars log in as; bind it to the apps' "
          + "service accounts and give it decrypt on the session key (env MICROAPP_KMS_SIDECAR_VAULT_ROLE).")
  String vaultRole;

  @Option(names = "--kms-sidecar-vault-auth-path", defaultValue = "${env:MICROAPP_KMS_SIDECAR_VAULT_AUTH_PATH:-kubernetes}",
      description = "Where Vault's Kubernetes auth method is mounted (env MICROAPP_KMS_SIDECAR_VAULT_AUTH_PATH).")
  String vaultAuthPath;

  @Option(names = "--kms-sidecar-aws-role-arn", defaultValue = "${env:MICROAPP_KMS_SIDECAR_AWS_ROLE_ARN}",
      description = "For an aws-kms:// session key: the IAM role sidecars assume with their projected token "
          + "(AssumeRoleWithWebIdentity); trust the cluster's OIDC provider for the apps' service accounts and "
          + "allow kms:Decrypt on the key (env MICROAPP_KMS_SIDECAR_AWS_ROLE_ARN).")
  String awsRoleArn;

  @Option(names = "--kms-sidecar-sts-endpoint", defaultValue = "${env:MICROAPP_KMS_SIDECAR_STS_ENDPOINT}",
      description = "STS base URL sidecars ask instead of https://sts.<region>.amazonaws.com (a VPC endpoint) "
          + "(env MICROAPP_KMS_SIDECAR_STS_ENDPOINT).")
  String stsEndpoint;

  @Option(names = "--kms-sidecar-token-audience", defaultValue = "${env:MICROAPP_KMS_SIDECAR_TOKEN_AUDIENCE}",
      description = "The audience of the service-account token projected into each sidecar: the Vault role's "
          + "(default vault) or STS's (default sts.amazonaws.com) (env MICROAPP_KMS_SIDECAR_TOKEN_AUDIENCE).")
  String tokenAudience;

  /** The parsed key, or null without --kms-session-key-uri; every mistake names the flag and the fix. */
  Kms kms(KmsOptions shared) {
    if (blank(uri)) {
      if (!blank(awsRoleArn) || !blank(stsEndpoint)) {
        throw new IllegalArgumentException("--kms-sidecar-aws-role-arn and --kms-sidecar-sts-endpoint need " + FLAG
            + "; name the session key or drop them");
      }
      return null;
    }
    KmsUri key;
    try {
      key = KmsUri.parse(uri, shared.endpoint);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(e.getMessage().replace(KmsUri.FLAG + " ", FLAG + " "));
    }
    boolean vault = key.kind() == KmsUri.Kind.VAULT_TRANSIT;
    if (!vault && blank(awsRoleArn)) {
      throw new IllegalArgumentException(FLAG + " names an AWS KMS key: set --kms-sidecar-aws-role-arn to the IAM role "
          + "sidecars assume with their projected token (IAM roles for service accounts)");
    }
    if (vault && (!blank(awsRoleArn) || !blank(stsEndpoint))) {
      throw new IllegalArgumentException("--kms-sidecar-aws-role-arn and --kms-sidecar-sts-endpoint apply to an "
          + "aws-kms:// " + FLAG + " only; Vault sidecars log in as --kms-sidecar-vault-role");
    }
    if (key.name().equals(shared.uri == null ? null : shared.uri.strip())) {
      throw new IllegalArgumentException(FLAG + " must name another key than --kms-uri: every sidecar may "
          + "decrypt with the session key, and none may open the sealing keyset");
    }
    if (vault) {
      new Kms.VaultLogin(vaultAuthPath, vaultRole, Path.of("/")); // checks both, naming the fix
    } else {
      Kms.roleArn(awsRoleArn, "--kms-sidecar-aws-role-arn");
      if (!blank(stsEndpoint)) {
        Kms.baseUrl(stsEndpoint, "--kms-sidecar-sts-endpoint");
      }
    }
    if (!audience(vault).matches("[A-Za-z0-9._:/-]{1,253}")) {
      throw new IllegalArgumentException("--kms-sidecar-token-audience must be an audience string such as vault "
          + "or sts.amazonaws.com (letters, digits, '.', '_', ':', '/', '-')");
    }
    // the operator's own credentials: its Vault token file, or the AWS chain of its environment
    return new Kms(key, vault && !blank(shared.vaultTokenFile) ? Path.of(shared.vaultTokenFile) : null,
        blank(shared.caFile) ? null : Path.of(shared.caFile));
  }

  private String audience(boolean vault) {
    return !blank(tokenAudience) ? tokenAudience.strip() : vault ? "vault" : "sts.amazonaws.com";
  }

  /** What the apps' sidecars are told, or null without --kms-session-key-uri. */
  OperatorConfig.SessionKeyKms sidecars(KmsOptions shared) {
    Kms kms = kms(shared);
    if (kms == null) {
      return null;
    }
    String ca = null;
    if (kms.caFile() != null) {
      try {
        ca = CaBundle.pem(CaBundle.read(kms.caFile(), Instant.now()));
      } catch (CaBundle.Invalid e) {
        throw new IllegalArgumentException(Kms.CA_FLAG + " " + kms.caFile() + " " + e.getMessage());
      }
    }
    String endpoint = blank(shared.endpoint) ? null : shared.endpoint.strip();
    boolean vault = kms.uri().kind() == KmsUri.Kind.VAULT_TRANSIT;
    return vault
        ? OperatorConfig.SessionKeyKms.vault(kms.uri().name(), endpoint, ca, vaultAuthPath, vaultRole, audience(true))
        : OperatorConfig.SessionKeyKms.aws(kms.uri().name(), endpoint, ca, awsRoleArn.strip(),
            blank(stsEndpoint) ? null : Kms.baseUrl(stsEndpoint, "--kms-sidecar-sts-endpoint"), audience(false));
  }

  /** The operator's key-encryption key for session keys, or null. */
  SessionKeyWrapping wrapping(KmsOptions shared) {
    Kms kms = kms(shared);
    return kms == null ? null : new SessionKeyWrapping(kms.kek(System.getenv()), kms.uri().name());
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
