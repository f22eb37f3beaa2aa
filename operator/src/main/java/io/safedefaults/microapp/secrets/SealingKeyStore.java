package io.safedefaults.microapp.secrets;

import com.google.crypto.tink.KeysetHandle;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.safedefaults.microapp.Names;
import io.safedefaults.microapp.audit.AuditLog;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;

/**
 * Keeps the cluster's sealing keyset in a Secret of the operator's namespace: created once, never
 * overwritten, rotated to a new primary every {@code rotateAfter} with every old key kept. The
 * public half is published in a ConfigMap any authenticated user may read. Key material never
 * appears in logs, Events, status or metrics: only key ids do.
 */
public final class SealingKeyStore {
  public static final String SECRET = "microapp-sealing-keys";
  public static final String PUBLIC_CONFIGMAP = "microapp-sealing-public-key";
  public static final String KEYSET = "keyset.json";
  public static final String PUBLIC_KEYSET = "public-keyset.json";
  public static final String PRIMARY_CREATED = "safedefaults.io/primary-key-created-at";

  private final KubernetesClient client;
  private final String namespace;
  private final Duration rotateAfter;
  private final Clock clock;
  private final AuditLog audit = new AuditLog();
  private volatile Loaded current;

  private record Loaded(String resourceVersion, KeysetHandle keys, Instant primaryCreated, SealedValueDecryptor decryptor) {}

  public SealingKeyStore(KubernetesClient client, String namespace, Duration rotateAfter, Clock clock) {
    this.client = client;
    this.namespace = namespace;
    this.rotateAfter = rotateAfter;
    this.clock = clock;
  }

  public String namespace() {
    return namespace;
  }

  /** Loads the keyset, creating it if this cluster has none yet; then publishes the public keys. */
  public void ensure() {
    Secret secret = client.secrets().inNamespace(namespace).withName(SECRET).get();
    if (secret == null) {
      KeysetHandle keys = SealingKeys.generate();
      try {
        secret = client.secrets().inNamespace(namespace).resource(secretFor(keys, clock.instant(), null)).create();
        audit.record("sealing-key.created", namespace, SECRET, Map.of("keyId", SealingKeys.primaryKeyId(keys)));
      } catch (KubernetesClientException e) {
        if (e.getCode() == 404) {
          // Checked here rather than by reading the Namespace, which would need a cluster-wide grant.
          throw new IllegalStateException("the keys namespace '" + namespace
              + "' does not exist; create it or pass --keys-namespace");
        }
        if (e.getCode() != 409) {
          throw e;
        }
        // Another replica created it first: use theirs, never overwrite.
        secret = client.secrets().inNamespace(namespace).withName(SECRET).get();
      }
    }
    load(secret);
    publish();
  }

  /** Re-reads the keyset (another replica may have rotated it) and rotates when the primary is due. */
  public void refreshAndRotateIfDue() {
    Secret secret = client.secrets().inNamespace(namespace).withName(SECRET).get();
    if (secret == null) {
      throw new IllegalStateException("the sealing keys Secret " + namespace + "/" + SECRET
          + " disappeared; restore it from a backup with 'microapp-operator keys import'");
    }
    if (!Objects.equals(secret.getMetadata().getResourceVersion(), current.resourceVersion())) {
      load(secret);
      publish();
    }
    if (Duration.between(current.primaryCreated(), clock.instant()).compareTo(rotateAfter) >= 0) {
      rotate();
    }
  }

  /** Adds a new primary key; optimistic locking makes concurrent rotations by two replicas safe. */
  public void rotate() {
    KeysetHandle rotated = SealingKeys.rotate(current.keys());
    try {
      Secret updated = client.secrets().inNamespace(namespace)
          .resource(secretFor(rotated, clock.instant(), current.resourceVersion())).update();
      load(updated);
      audit.record("sealing-key.rotated", namespace, SECRET, Map.of(
          "keyId", SealingKeys.primaryKeyId(rotated), "keys", SealingKeys.keyIds(rotated).size()));
      publish();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      load(client.secrets().inNamespace(namespace).withName(SECRET).get());
    }
  }

  public SealedValueDecryptor decryptor() {
    return current.decryptor();
  }

  public KeysetHandle publicKeys() {
    return SealingKeys.publicKeys(current.keys());
  }

  private void load(Secret secret) {
    String json = new String(Base64.getDecoder().decode(secret.getData().get(KEYSET)), StandardCharsets.UTF_8);
    KeysetHandle keys = SealingKeys.parsePrivate(json);
    String created = secret.getMetadata().getAnnotations() == null ? null
        : secret.getMetadata().getAnnotations().get(PRIMARY_CREATED);
    Instant primaryCreated = created == null ? clock.instant() : Instant.parse(created);
    current = new Loaded(secret.getMetadata().getResourceVersion(), keys, primaryCreated, new SealedValueDecryptor(keys));
  }

  private void publish() {
    KeysetHandle pub = SealingKeys.publicKeys(current.keys());
    ConfigMap cm = new ConfigMapBuilder()
        .withNewMetadata().withName(PUBLIC_CONFIGMAP).withNamespace(namespace)
        .addToLabels(Names.MANAGED_BY_KEY, Names.MANAGED_BY).endMetadata()
        .addToData(PUBLIC_KEYSET, SealingKeys.serializePublic(pub))
        .addToData("primary-key-id", Long.toString(SealingKeys.primaryKeyId(pub)))
        .build();
    ConfigMap existing = client.configMaps().inNamespace(namespace).withName(PUBLIC_CONFIGMAP).get();
    if (existing == null) {
      client.configMaps().inNamespace(namespace).resource(cm).create();
    } else if (!Objects.equals(existing.getData(), cm.getData())) {
      existing.setData(cm.getData());
      client.configMaps().inNamespace(namespace).resource(existing).update();
    }
  }

  public static Secret secretFor(KeysetHandle keys, Instant primaryCreated, String resourceVersion) {
    return new SecretBuilder()
        .withNewMetadata().withName(SECRET).withResourceVersion(resourceVersion)
        .addToLabels(Names.MANAGED_BY_KEY, Names.MANAGED_BY)
        .addToAnnotations(PRIMARY_CREATED, primaryCreated.toString())
        .endMetadata()
        .withType("Opaque")
        .addToData(KEYSET, Base64.getEncoder().encodeToString(
            SealingKeys.serializePrivate(keys).getBytes(StandardCharsets.UTF_8)))
        .build();
  }
}
