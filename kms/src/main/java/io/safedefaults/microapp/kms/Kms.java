package io.safedefaults.microapp.kms;

import com.google.crypto.tink.Aead;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * Builds the key-encryption {@link Aead} from the KMS flags: an {@link EnvelopeAead} around the
 * remote key. Every mistake in the flags is reported here, at start, naming the flag and the fix.
 *
 * @param uri the parsed {@code --kms-uri}
 * @param vaultTokenFile {@code --kms-vault-token-file}: the operator's way to Vault; refused for AWS
 * @param vaultLogin a Vault Kubernetes-auth login instead of a token file (the sidecar's way)
 * @param caFile {@code --kms-ca-file}: a PEM bundle the KMS's certificate must chain to (else the JDK's)
 */
public record Kms(KmsUri uri, Path vaultTokenFile, VaultLogin vaultLogin, Path caFile) {
  public static final String TOKEN_FLAG = "--kms-vault-token-file";
  public static final String CA_FLAG = "--kms-ca-file";
  /** The annotation on a Secret naming the KMS key its content is wrapped under, as the flag gave it. */
  public static final String WRAPPED_BY = "safedefaults.io/kms-key";

  /**
   * A login with Vault's Kubernetes auth method.
   *
   * @param authPath where the method is mounted, e.g. {@code kubernetes}
   * @param role the Vault role bound to the app's service accounts
   * @param jwtFile the projected service-account token (audience of the Vault role)
   */
  public record VaultLogin(String authPath, String role, Path jwtFile) {
    private static final java.util.regex.Pattern PATH = java.util.regex.Pattern.compile(
        "[A-Za-z0-9_.-]{1,128}(/[A-Za-z0-9_.-]{1,128}){0,7}");
    private static final java.util.regex.Pattern ROLE = java.util.regex.Pattern.compile("[A-Za-z0-9_.-]{1,128}");

    public VaultLogin {
      if (authPath == null || !PATH.matcher(authPath).matches() || authPath.contains("..")) {
        throw new IllegalArgumentException("the Vault auth path must be the mount path of the Kubernetes auth method, "
            + "e.g. kubernetes (letters, digits, '_', '-', '.', segments separated by '/')");
      }
      if (role == null || !ROLE.matcher(role).matches()) {
        throw new IllegalArgumentException("the Vault role must be a role name of letters, digits, '_', '-' or '.', "
            + "at most 128, e.g. microapp-sidecar");
      }
    }
  }

  /** Checks an IAM role ARN (arn:aws:iam::<account>:role/<name>); the error names {@code what}. */
  public static String roleArn(String value, String what) {
    if (value == null || !AwsWebIdentity.ROLE_ARN.matcher(value.strip()).matches()) {
      throw new IllegalArgumentException(what + " is not an IAM role ARN; use arn:aws:iam::<account>:role/<name>");
    }
    return value.strip();
  }

  /** Checks a base URL https://host[:port] (http:// for a test server); the error names {@code what}. */
  public static String baseUrl(String value, String what) {
    return KmsUri.endpointUrl(value.strip(), what).toString();
  }

  /** The operator's: a Vault token file, or AWS credentials from the environment. */
  public Kms(KmsUri uri, Path vaultTokenFile, Path caFile) {
    this(uri, vaultTokenFile, null, caFile);
  }

  public Kms {
    if (vaultTokenFile != null && vaultLogin != null) {
      throw new IllegalArgumentException("a Vault token file and a Kubernetes login exclude each other; use one");
    }
    if (uri.kind() == KmsUri.Kind.AWS_KMS && vaultLogin != null) {
      throw new IllegalArgumentException("a Vault Kubernetes login applies to vault-transit:// keys only");
    }
    if (uri.kind() == KmsUri.Kind.VAULT_TRANSIT && vaultTokenFile == null && vaultLogin == null) {
      throw new IllegalArgumentException(TOKEN_FLAG + " is required with a vault-transit:// " + KmsUri.FLAG
          + "; mount the Vault token (e.g. written by Vault Agent) and name its file");
    }
    if (uri.kind() == KmsUri.Kind.AWS_KMS && vaultTokenFile != null) {
      throw new IllegalArgumentException(TOKEN_FLAG + " applies to vault-transit:// keys only; AWS credentials come "
          + "from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_SHARED_CREDENTIALS_FILE");
    }
    if (caFile != null && !Files.isReadable(caFile)) {
      throw new IllegalArgumentException(CA_FLAG + " " + caFile + " cannot be read; mount the CA bundle there");
    }
  }

  /** From the flags; empty flags mean no KMS (null). */
  public static Kms fromFlags(String uri, String endpoint, String vaultTokenFile, String caFile) {
    if (uri == null || uri.isBlank()) {
      if (!blank(endpoint) || !blank(vaultTokenFile) || !blank(caFile)) {
        throw new IllegalArgumentException(KmsUri.ENDPOINT_FLAG + ", " + TOKEN_FLAG + " and " + CA_FLAG
            + " need " + KmsUri.FLAG + "; name the KMS key or drop them");
      }
      return null;
    }
    return new Kms(KmsUri.parse(uri, endpoint), blank(vaultTokenFile) ? null : Path.of(vaultTokenFile),
        blank(caFile) ? null : Path.of(caFile));
  }

  /** The key-encryption key, reading AWS credentials from {@code env} (the process's environment in production). */
  public Aead kek(Map<String, String> env) {
    return kek(env, Clock.systemUTC());
  }

  /** @param clock when AWS requests are signed and Vault logins renewed */
  public Aead kek(Map<String, String> env, Clock clock) {
    String what = (uri.kind() == KmsUri.Kind.AWS_KMS ? "AWS KMS " : "Vault Transit ") + uri.endpoint();
    KmsHttp http = new KmsHttp(what, caFile);
    Aead remote;
    if (uri.kind() == KmsUri.Kind.AWS_KMS) {
      remote = new AwsKmsAead(uri, new AwsCredentials(env, uri.region(), clock), http, clock);
    } else if (vaultLogin != null) {
      remote = new VaultTransitAead(uri, new VaultKubernetesLogin(http, uri.endpoint(), vaultLogin.authPath(),
          vaultLogin.role(), vaultLogin.jwtFile(), clock), http);
    } else {
      remote = new VaultTransitAead(uri, vaultTokenFile, http);
    }
    return new EnvelopeAead(remote);
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
