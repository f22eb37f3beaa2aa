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
 * @param vaultTokenFile {@code --kms-vault-token-file}: required for Vault, refused for AWS
 * @param caFile {@code --kms-ca-file}: a PEM bundle the KMS's certificate must chain to (else the JDK's)
 */
public record Kms(KmsUri uri, Path vaultTokenFile, Path caFile) {
  public static final String TOKEN_FLAG = "--kms-vault-token-file";
  public static final String CA_FLAG = "--kms-ca-file";

  public Kms {
    if (uri.kind() == KmsUri.Kind.VAULT_TRANSIT && vaultTokenFile == null) {
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
    String what = (uri.kind() == KmsUri.Kind.AWS_KMS ? "AWS KMS " : "Vault Transit ") + uri.endpoint();
    KmsHttp http = new KmsHttp(what, caFile);
    Aead remote = uri.kind() == KmsUri.Kind.AWS_KMS
        ? new AwsKmsAead(uri, new AwsCredentials(env), http, Clock.systemUTC())
        : new VaultTransitAead(uri, vaultTokenFile, http);
    return new EnvelopeAead(remote);
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
