package io.safedefaults.microapp.cli;

import com.google.crypto.tink.KeysetHandle;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.secrets.SealingKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.security.GeneralSecurityException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Where the CLI gets keys: a file (offline) or the cluster (current kubeconfig). */
public class KeySource {
  @Option(names = "--keys-namespace", defaultValue = "${env:MICROAPP_KEYS_NAMESPACE:-microapp-system}",
      description = "Namespace of the operator's keys in the cluster (default microapp-system).")
  String keysNamespace;

  @Mixin KmsOptions kms;

  KeysetHandle publicKeys(Path file) throws IOException {
    if (file != null) {
      return SealingKeys.parsePublic(Files.readString(file));
    }
    try (KubernetesClient client = new KubernetesClientBuilder().build()) {
      ConfigMap cm = client.configMaps().inNamespace(keysNamespace).withName(SealingKeyStore.PUBLIC_CONFIGMAP).get();
      if (cm == null || cm.getData() == null || !cm.getData().containsKey(SealingKeyStore.PUBLIC_KEYSET)) {
        throw new IllegalArgumentException("no public key in ConfigMap " + keysNamespace + "/"
            + SealingKeyStore.PUBLIC_CONFIGMAP + "; is the operator running? (or pass --public-key FILE)");
      }
      return SealingKeys.parsePublic(cm.getData().get(SealingKeyStore.PUBLIC_KEYSET));
    }
  }

  KeysetHandle privateKeys(Path file) throws IOException {
    if (file != null) {
      return SealingKeys.parsePrivate(Files.readString(file));
    }
    try (KubernetesClient client = new KubernetesClientBuilder().build()) {
      Secret s = client.secrets().inNamespace(keysNamespace).withName(SealingKeyStore.SECRET).get();
      if (s != null && s.getData() != null && s.getData().containsKey(SealingKeyStore.KEYSET_WRAPPED)) {
        return unwrap(s);
      }
      if (s == null || s.getData() == null || !s.getData().containsKey(SealingKeyStore.KEYSET)) {
        throw new IllegalArgumentException("no sealing keys in Secret " + keysNamespace + "/" + SealingKeyStore.SECRET
            + " (or you may not read it); pass --private-key FILE from 'keys export'");
      }
      return SealingKeys.parsePrivate(new String(Base64.getDecoder().decode(s.getData().get(SealingKeyStore.KEYSET)),
          StandardCharsets.UTF_8));
    }
  }

  /** A keyset wrapped under a KMS key opens only with that KMS (the same flags as the operator's, and access to it). */
  private KeysetHandle unwrap(Secret s) {
    var kek = kms.kek();
    String by = s.getMetadata().getAnnotations() == null ? "?" : s.getMetadata().getAnnotations().get(SealingKeyStore.WRAPPED_BY);
    if (kek == null) {
      throw new IllegalArgumentException("the keyset in Secret " + keysNamespace + "/" + SealingKeyStore.SECRET
          + " is wrapped by the KMS key " + by + "; pass --kms-uri " + by + " with credentials allowed to decrypt with it");
    }
    try {
      return SealingKeyStore.unwrap(Base64.getDecoder().decode(s.getData().get(SealingKeyStore.KEYSET_WRAPPED)), kek,
          SealingKeyStore.associatedData(keysNamespace));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the keyset in Secret " + keysNamespace + "/" + SealingKeyStore.SECRET
          + " (wrapped by " + by + ") cannot be unwrapped: " + e.getMessage());
    }
  }
}
