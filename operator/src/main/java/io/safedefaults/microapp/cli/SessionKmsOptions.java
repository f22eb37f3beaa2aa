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
 * --kms-ca-file with {@link KmsOptions}: the operator wraps with its own Vault token, each sidecar
 * opens its own app's with a Kubernetes-auth login.
 */
public class SessionKmsOptions {
  static final String FLAG = "--kms-session-key-uri";

  @Option(names = FLAG, defaultValue = "${env:MICROAPP_KMS_SESSION_KEY_URI}",
      description = "Keep every app's session keyset and user-id salt wrapped under this Vault Transit key: "
          + "vault-transit://<host>[:<port>]/<mount>/keys/<key>, another key than --kms-uri's. Sidecars open "
          + "their own with a Vault Kubernetes-auth login (env MICROAPP_KMS_SESSION_KEY_URI).")
  String uri;

  @Option(names = "--kms-sidecar-vault-role", defaultValue = "${env:MICROAPP_KMS_SIDECAR_VAULT_ROLE:-microapp-sidecar}",
      description = "The Vault role of Vault's Kubernetes auth method that sidecars log in as; bind it to the apps' "
          + "service accounts and give it decrypt on the session key (env MICROAPP_KMS_SIDECAR_VAULT_ROLE).")
  String vaultRole;

  @Option(names = "--kms-sidecar-vault-auth-path", defaultValue = "${env:MICROAPP_KMS_SIDECAR_VAULT_AUTH_PATH:-kubernetes}",
      description = "Where Vault's Kubernetes auth method is mounted (env MICROAPP_KMS_SIDECAR_VAULT_AUTH_PATH).")
  String vaultAuthPath;

  @Option(names = "--kms-sidecar-token-audience", defaultValue = "${env:MICROAPP_KMS_SIDECAR_TOKEN_AUDIENCE:-vault}",
      description = "The audience of the service-account token projected into each sidecar for the Vault login; "
          + "the Vault role's audience (env MICROAPP_KMS_SIDECAR_TOKEN_AUDIENCE).")
  String tokenAudience;

  /** The parsed key, or null without --kms-session-key-uri; every mistake names the flag and the fix. */
  Kms kms(KmsOptions shared) {
    if (uri == null || uri.isBlank()) {
      return null;
    }
    Kms kms;
    try {
      kms = new Kms(KmsUri.parse(uri, shared.endpoint), blank(shared.vaultTokenFile) ? null : Path.of(shared.vaultTokenFile),
          blank(shared.caFile) ? null : Path.of(shared.caFile));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(e.getMessage().replace(KmsUri.FLAG + " ", FLAG + " "));
    }
    if (kms.uri().kind() != KmsUri.Kind.VAULT_TRANSIT) {
      throw new IllegalArgumentException(FLAG + " must name a vault-transit:// key: each sidecar opens its own app's "
          + "session keyset with a Vault Kubernetes-auth login; an AWS KMS key would need IAM roles for service "
          + "accounts, which the sidecar does not do. Leave " + FLAG + " unset to keep session keysets in their Secrets");
    }
    if (kms.uri().name().equals(shared.uri == null ? null : shared.uri.strip())) {
      throw new IllegalArgumentException(FLAG + " must name another Transit key than --kms-uri: every sidecar may "
          + "decrypt with the session key, and none may open the sealing keyset");
    }
    new Kms.VaultLogin(vaultAuthPath, vaultRole, Path.of("/")); // checks both, naming the fix
    if (tokenAudience == null || !tokenAudience.matches("[A-Za-z0-9._:/-]{1,253}")) {
      throw new IllegalArgumentException("--kms-sidecar-token-audience must be an audience string such as vault "
          + "(letters, digits, '.', '_', ':', '/', '-')");
    }
    return kms;
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
    return new OperatorConfig.SessionKeyKms(kms.uri().name(), blank(shared.endpoint) ? null : shared.endpoint.strip(),
        ca, vaultAuthPath, vaultRole, tokenAudience);
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
