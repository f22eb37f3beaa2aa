package io.safedefaults.microapp.cli;

import com.google.crypto.tink.Aead;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import java.time.Clock;
import java.time.Duration;
import picocli.CommandLine.Option;

/** The KMS key that wraps the sealing keyset (off unless --kms-uri is given); parsed by {@link Kms#fromFlags}. */
public class KmsOptions {
  @Option(names = "--kms-uri", defaultValue = "${env:MICROAPP_KMS_URI}",
      description = "Keep the sealing keyset wrapped under this KMS key: aws-kms://arn:aws:kms:<region>:<account>:key/<id> "
          + "or vault-transit://<host>[:<port>]/<mount>/keys/<key>. A plaintext keyset is re-wrapped at start "
          + "(env MICROAPP_KMS_URI).")
  String uri;

  @Option(names = "--kms-endpoint", defaultValue = "${env:MICROAPP_KMS_ENDPOINT}",
      description = "Base URL of the KMS instead of the one the key implies (a VPC endpoint; http:// only for a local "
          + "test KMS) (env MICROAPP_KMS_ENDPOINT).")
  String endpoint;

  @Option(names = "--kms-vault-token-file", defaultValue = "${env:MICROAPP_KMS_VAULT_TOKEN_FILE}",
      description = "File holding the Vault token (read at every call, so it may be renewed in place) "
          + "(env MICROAPP_KMS_VAULT_TOKEN_FILE).")
  String vaultTokenFile;

  @Option(names = "--kms-ca-file", defaultValue = "${env:MICROAPP_KMS_CA_FILE}",
      description = "PEM bundle the KMS's TLS certificate must chain to, instead of the JDK's CAs (env MICROAPP_KMS_CA_FILE).")
  String caFile;

  /** Set by commands that also wrap session keys: the shared flags may then serve that key alone. */
  boolean sharedWithSessionKey;

  /** The parsed flags, or null without --kms-uri. */
  Kms kms() {
    if (sharedWithSessionKey && (uri == null || uri.isBlank())) {
      return null;
    }
    return Kms.fromFlags(uri, endpoint, vaultTokenFile, caFile);
  }

  /** The key-encryption key, AWS credentials from this process's environment; null without --kms-uri. */
  Aead kek() {
    Kms kms = kms();
    return kms == null ? null : kms.kek(System.getenv());
  }

  /** The operator's key store, wrapping under the KMS key when one is named. */
  SealingKeyStore store(KubernetesClient client, String namespace, Duration rotateAfter, Clock clock) {
    Kms kms = kms();
    if (kms == null) {
      return new SealingKeyStore(client, namespace, rotateAfter, clock);
    }
    return new SealingKeyStore(client, namespace, rotateAfter, clock, kms.kek(System.getenv()), kms.uri().name());
  }
}
