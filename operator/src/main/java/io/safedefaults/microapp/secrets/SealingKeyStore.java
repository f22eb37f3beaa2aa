package io.safedefaults.microapp.secrets;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkProtoKeysetFormat;
import com.google.crypto.tink.hybrid.HybridPrivateKey;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.audit.AuditLog;
import io.safedefaults.microapp.kube.Names;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the cluster's sealing keyset in a Secret of the operator's namespace: created once, never
 * overwritten, rotated to a new primary every {@code rotateAfter} with every old key kept. The
 * public half is published in a ConfigMap any authenticated user may read. Key material never
 * appears in logs, Events, status or metrics: only key ids do.
 *
 * <p>A lost Secret is a visible state, not a reason to mint: while sealed values exist that only
 * the lost keys open, a new keyset would strand every one of them and stand in the way of the
 * backup (import never replaces keys). So the store creates a keyset only on a cluster where no
 * app has sealed values, or when told to; otherwise it reports the keys missing ({@link #problem()},
 * a decryptor that says so for every value) until the Secret is back, which it notices by watching.
 *
 * <p>With a KMS key ({@code --kms-uri}) the keyset is stored wrapped: {@value #KEYSET_WRAPPED} holds
 * Tink's encrypted keyset format under the KMS key, with the Secret's namespace/name as associated
 * data, and no plaintext copy, so the Secret's bytes alone open nothing and a wrapped keyset copied
 * into another Secret does not open there. A plaintext keyset found while a KMS is configured is
 * re-wrapped in place at once (optimistic locking, plaintext removed). The KMS is asked only when
 * the Secret changes (start, rotation, restore): while it cannot be asked, the keys are missing with
 * a problem naming the KMS and the reason, retried on every refresh, and nothing is written: a KMS
 * outage never falls back to plaintext.
 */
public final class SealingKeyStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SealingKeyStore.class);
  public static final String SECRET = "microapp-sealing-keys";
  public static final String PUBLIC_CONFIGMAP = "microapp-sealing-public-key";
  public static final String KEYSET = "keyset.json";
  public static final String PUBLIC_KEYSET = "public-keyset.json";
  public static final String PRIMARY_CREATED = "safedefaults.io/primary-key-created-at";
  /** The keyset wrapped under the KMS key (Tink's binary encrypted keyset); replaces {@link #KEYSET}. */
  public static final String KEYSET_WRAPPED = "keyset.kms";
  /** Which KMS key wrapped it: {@code --kms-uri} as given (names no credential). */
  public static final String WRAPPED_BY = io.safedefaults.microapp.kms.Kms.WRAPPED_BY;

  private final KubernetesClient client;
  private final String namespace;
  private final Duration rotateAfter;
  private final Clock clock;
  private final Aead kek;
  private final String kekName;
  private final AuditLog audit = new AuditLog();
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private volatile Loaded current;
  private SharedIndexInformer<Secret> watch;

  /** The keyset in use, or (keys null) why there is none; the decryptor is never null. */
  private record Loaded(String resourceVersion, KeysetHandle keys, Instant primaryCreated, SealedValueDecryptor decryptor,
      String problem) {
    static Loaded missing(String problem) {
      return new Loaded(null, null, null, SealedValueDecryptor.keysMissing(problem), problem);
    }
  }

  public SealingKeyStore(KubernetesClient client, String namespace, Duration rotateAfter, Clock clock) {
    this(client, namespace, rotateAfter, clock, null, null);
  }

  /**
   * @param kek the KMS key that wraps the keyset, or null to store it in plaintext
   * @param kekName how {@code --kms-uri} names it (recorded on the Secret, used in messages)
   */
  public SealingKeyStore(KubernetesClient client, String namespace, Duration rotateAfter, Clock clock, Aead kek,
      String kekName) {
    this.client = client;
    this.namespace = namespace;
    this.rotateAfter = rotateAfter;
    this.clock = clock;
    this.kek = kek;
    this.kekName = kekName;
  }

  /** What a wrapped keyset is bound to: this Secret, so a copy in another Secret does not open. */
  public static byte[] associatedData(String namespace) {
    return ("safedefaults.io/sealing-keys " + namespace + "/" + SECRET).getBytes(StandardCharsets.UTF_8);
  }

  public String namespace() {
    return namespace;
  }

  /** {@link #ensure(Collection, boolean)} for an operator watching every namespace, never replacing lost keys. */
  public void ensure() {
    ensure(List.of(), false);
  }

  /**
   * Loads the keyset, then publishes the public keys. A cluster without one gets a new keyset when
   * no MicroApp in {@code appNamespaces} (all when empty) has sealed values, or when
   * {@code allowNewKeys}; otherwise the keys are reported missing and nothing is created.
   */
  public void ensure(Collection<String> appNamespaces, boolean allowNewKeys) {
    Secret secret = client.secrets().inNamespace(namespace).withName(SECRET).get();
    if (secret == null) {
      List<String> stranded = appsWithSealedValues(appNamespaces);
      if (!stranded.isEmpty() && !allowNewKeys) {
        lost();
        LOG.error("not creating a new sealing keyset: {} MicroApp(s) have sealed values only the missing keys open ({}); "
            + "restore the backup of {}/{}, or start once with --allow-new-sealing-keys to give those values up",
            stranded.size(), String.join(", ", stranded.subList(0, Math.min(5, stranded.size()))), namespace, SECRET);
        return;
      }
      if (!stranded.isEmpty()) {
        LOG.warn("creating a new sealing keyset as --allow-new-sealing-keys says, although {} MicroApp(s) have sealed "
            + "values only the lost keys open: seal them again with the new public key", stranded.size());
      }
      secret = create(stranded.size());
    }
    found(secret);
  }

  private Secret create(int stranded) {
    KeysetHandle keys = SealingKeys.generate();
    Secret wanted;
    try {
      wanted = stored(keys, clock.instant(), null);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create the sealing keyset: " + kmsFailure(e)
          + "; nothing was written, and the operator starts once the KMS answers");
    }
    try {
      Secret created = client.secrets().inNamespace(namespace).resource(wanted).create();
      audit.record("sealing-key.created", namespace, SECRET, Map.of("keyId", SealingKeys.primaryKeyId(keys),
          "appsWithUnopenableValues", stranded, "kms", kek == null ? "none" : kekName));
      return created;
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
      return client.secrets().inNamespace(namespace).withName(SECRET).get();
    }
  }

  /** namespace/name of the MicroApps with sealed values: a plain list, as this runs before any informer. */
  private List<String> appsWithSealedValues(Collection<String> appNamespaces) {
    SealedValueDecryptor none = SealedValueDecryptor.keysMissing("");
    var apps = client.resources(MicroApp.class);
    Stream<MicroApp> all = appNamespaces.isEmpty() ? apps.inAnyNamespace().list().getItems().stream()
        : appNamespaces.stream().flatMap(ns -> apps.inNamespace(ns).list().getItems().stream());
    return all.filter(a -> Unsealer.open(a, none).declaresAny())
        .map(a -> a.getMetadata().getNamespace() + "/" + a.getMetadata().getName())
        .sorted().toList();
  }

  /**
   * Follows the keys Secret, so its loss is reported at once and a restored backup is used without a
   * restart; {@code onChange} runs after every change of the keys (lost, restored, rotated). Without
   * the watch (say RBAC lacks it) the 5-minute {@link #refreshAndRotateIfDue()} still notices.
   */
  public void watch(Runnable onChange) {
    listeners.add(onChange);
    try {
      watch = client.secrets().inNamespace(namespace).withName(SECRET).inform(new ResourceEventHandler<>() {
        @Override
        public void onAdd(Secret s) {
          found(s);
        }

        @Override
        public void onUpdate(Secret before, Secret s) {
          found(s);
        }

        @Override
        public void onDelete(Secret s, boolean finalStateUnknown) {
          lost();
        }
      });
    } catch (KubernetesClientException e) {
      LOG.warn("cannot watch the sealing keys Secret {}/{} (HTTP {}); checking it every 5 minutes instead",
          namespace, SECRET, e.getCode());
    }
  }

  /** Re-reads the keyset (another replica may have rotated it, or it was lost or restored) and rotates when due. */
  public void refreshAndRotateIfDue() {
    Secret secret = client.secrets().inNamespace(namespace).withName(SECRET).get();
    if (secret == null) {
      lost();
      return;
    }
    found(secret);
    Loaded now = current;
    if (now.keys() != null && Duration.between(now.primaryCreated(), clock.instant()).compareTo(rotateAfter) >= 0) {
      rotate();
    }
  }

  /** Adds a new primary key; optimistic locking makes concurrent rotations by two replicas safe. */
  public synchronized void rotate() {
    if (current.keys() == null) {
      throw new IllegalStateException(current.problem());
    }
    KeysetHandle rotated = SealingKeys.rotate(current.keys());
    Secret wanted;
    try {
      wanted = stored(rotated, clock.instant(), current.resourceVersion());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("sealing key rotation postponed: " + kmsFailure(e)
          + "; the current keys stay in use and nothing was written");
    }
    try {
      Secret updated = client.secrets().inNamespace(namespace).resource(wanted).update();
      audit.record("sealing-key.rotated", namespace, SECRET, Map.of(
          "keyId", SealingKeys.primaryKeyId(rotated), "keys", SealingKeys.keyIds(rotated).size()));
      found(updated, rotated);
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      Secret theirs = client.secrets().inNamespace(namespace).withName(SECRET).get();
      if (theirs == null) {
        lost();
      } else {
        found(theirs);
      }
    }
  }

  /** Opens sealed values; while the keys are missing, it fails each with {@link SealedValueDecryptor#KEYS_MISSING}. */
  public SealedValueDecryptor decryptor() {
    return current.decryptor();
  }

  /** True while the store holds the cluster's keyset. */
  public boolean available() {
    Loaded now = current;
    return now != null && now.keys() != null;
  }

  /** Why there are no keys (which Secret is missing and how to restore it), or empty while there are. */
  public Optional<String> problem() {
    return Optional.ofNullable(current).map(Loaded::problem);
  }

  public KeysetHandle publicKeys() {
    if (current.keys() == null) {
      throw new IllegalStateException(current.problem());
    }
    return SealingKeys.publicKeys(current.keys());
  }

  /** Uses the Secret's keyset unless it is the one in use already; an unreadable one counts as missing. */
  private synchronized void found(Secret secret) {
    found(secret, null);
  }

  /** @param written the keys just written into {@code secret}, so a wrapped keyset needs no KMS call; else null */
  private synchronized void found(Secret secret, KeysetHandle written) {
    Loaded before = current;
    if (before != null && Objects.equals(secret.getMetadata().getResourceVersion(), before.resourceVersion())) {
      return;
    }
    try {
      current = written != null ? loaded(secret, written) : load(secret);
    } catch (Unopenable e) {
      unopenable(e.getMessage());
      return;
    } catch (RuntimeException e) {
      // parsePrivate's messages name no key material
      missing("the sealing keys Secret " + namespace + "/" + SECRET + " holds no readable keyset ("
          + (e instanceof IllegalArgumentException ? e.getMessage() : e.getClass().getSimpleName()) + ")");
      return;
    }
    if (before != null && before.keys() == null) {
      LOG.info("the sealing keys Secret {}/{} is back (keys {}); sealed values open again", namespace, SECRET,
          SealingKeys.keyIds(current.keys()));
      audit.record("sealing-key.restored", namespace, SECRET, Map.of("keyId", SealingKeys.primaryKeyId(current.keys())));
    }
    changed(before);
    publish(); // last: the apps need the keys, not the ConfigMap, and a failure here must not keep them waiting
  }

  private synchronized void lost() {
    missing("the sealing keys Secret " + namespace + "/" + SECRET + " is missing");
  }

  private void missing(String what) {
    unopenable(what + "; restore it from the backup ('microapp-operator keys import --file <export>'"
        + " or 'kubectl apply -f <saved Secret>')");
  }

  /** No keys in use, for the reason given (which says the fix). */
  private void unopenable(String problem) {
    Loaded before = current;
    if (before != null && problem.equals(before.problem())) {
      return;
    }
    current = Loaded.missing(problem);
    LOG.error("{}: no sealed value can be opened until then", problem);
    if (before != null && before.keys() != null) {
      audit.record("sealing-key.lost", namespace, SECRET, Map.of("keyId", SealingKeys.primaryKeyId(before.keys())));
    }
    changed(before);
  }

  private void changed(Loaded before) {
    if (before == null) {
      return; // the first load: nothing was reported on the previous keys
    }
    for (Runnable listener : listeners) {
      listener.run();
    }
  }

  /** A keyset that is there but cannot be used now; the message is the whole problem, fix included. */
  private static final class Unopenable extends RuntimeException {
    Unopenable(String message) {
      super(message, null, false, false);
    }
  }

  private Loaded loaded(Secret secret, KeysetHandle keys) {
    return new Loaded(secret.getMetadata().getResourceVersion(), keys, primaryCreated(secret), new SealedValueDecryptor(keys),
        null);
  }

  private Instant primaryCreated(Secret secret) {
    String created = secret.getMetadata().getAnnotations() == null ? null
        : secret.getMetadata().getAnnotations().get(PRIMARY_CREATED);
    return created == null ? clock.instant() : Instant.parse(created);
  }

  private Loaded load(Secret secret) {
    Map<String, String> data = secret.getData() == null ? Map.of() : secret.getData();
    Instant primaryCreated = primaryCreated(secret);
    String where = "the sealing keys Secret " + namespace + "/" + SECRET;
    if (data.containsKey(KEYSET_WRAPPED)) {
      String by = Optional.ofNullable(secret.getMetadata().getAnnotations()).map(a -> a.get(WRAPPED_BY)).orElse("?");
      if (kek == null) {
        throw new Unopenable(where + " is wrapped by the KMS key " + by + "; start the operator with --kms-uri " + by
            + " and that KMS's credentials (Helm: kms.uri)");
      }
      KeysetHandle keys;
      try {
        keys = unwrap(Base64.getDecoder().decode(data.get(KEYSET_WRAPPED)), kek, associatedData(namespace));
      } catch (GeneralSecurityException e) {
        throw new Unopenable(where + " cannot be unwrapped: " + kmsFailure(e) + " (wrapped by " + by
            + "); sealed values open again once the KMS answers, retried every 5 minutes and on every change of the Secret");
      }
      return new Loaded(secret.getMetadata().getResourceVersion(), keys, primaryCreated, new SealedValueDecryptor(keys), null);
    }
    String json = new String(Base64.getDecoder().decode(data.get(KEYSET)), StandardCharsets.UTF_8);
    KeysetHandle keys = SealingKeys.parsePrivate(json);
    if (kek != null) {
      return rewrap(secret, keys, primaryCreated);
    }
    return new Loaded(secret.getMetadata().getResourceVersion(), keys, primaryCreated, new SealedValueDecryptor(keys), null);
  }

  /**
   * Switching the KMS on: the plaintext keyset found is replaced by its wrapped form (same keys, same
   * primary date), locked to the resourceVersion read. Until that write succeeds the keys are not
   * used, so a KMS that cannot be asked is a visible problem, not a quiet plaintext operator.
   */
  private Loaded rewrap(Secret secret, KeysetHandle keys, Instant primaryCreated) {
    Secret wrapped;
    try {
      wrapped = stored(keys, primaryCreated, secret.getMetadata().getResourceVersion());
    } catch (GeneralSecurityException e) {
      throw new Unopenable("the sealing keys Secret " + namespace + "/" + SECRET + " holds a plaintext keyset that "
          + "cannot be wrapped: " + kmsFailure(e) + "; it is not used until it is wrapped (retried every 5 minutes)");
    }
    wrapped.getMetadata().setAnnotations(new LinkedHashMap<>(Optional.ofNullable(secret.getMetadata().getAnnotations())
        .orElse(Map.of())));
    wrapped.getMetadata().getAnnotations().put(PRIMARY_CREATED, primaryCreated.toString());
    wrapped.getMetadata().getAnnotations().put(WRAPPED_BY, kekName);
    Secret updated;
    try {
      updated = client.secrets().inNamespace(namespace).resource(wrapped).update();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        Secret theirs = client.secrets().inNamespace(namespace).withName(SECRET).get();
        if (theirs != null) {
          return load(theirs); // another replica wrapped (or rotated) it first
        }
      }
      throw new Unopenable("the sealing keys Secret " + namespace + "/" + SECRET + " holds a plaintext keyset that "
          + "could not be replaced by its wrapped form (HTTP " + e.getCode() + "); it is not used until it is wrapped");
    }
    LOG.info("wrapped the sealing keyset in {}/{} under the KMS key {} (keys {}); the plaintext copy is gone",
        namespace, SECRET, kekName, SealingKeys.keyIds(keys));
    audit.record("sealing-key.wrapped", namespace, SECRET, Map.of("keyId", SealingKeys.primaryKeyId(keys), "kms", kekName));
    return new Loaded(updated.getMetadata().getResourceVersion(), keys, primaryCreated, new SealedValueDecryptor(keys), null);
  }

  /** The Secret for these keys as this store keeps them: wrapped with a KMS, plaintext without. */
  private Secret stored(KeysetHandle keys, Instant primaryCreated, String resourceVersion) throws GeneralSecurityException {
    return kek == null ? secretFor(keys, primaryCreated, resourceVersion)
        : secretFor(keys, primaryCreated, resourceVersion, namespace, kek, kekName);
  }

  /** The keys Secret of {@code namespace} with the keyset wrapped under {@code kek} (named {@code kekName}). */
  public static Secret secretFor(KeysetHandle keys, Instant primaryCreated, String resourceVersion, String namespace,
      Aead kek, String kekName) throws GeneralSecurityException {
    Secret s = secretFor(keys, primaryCreated, resourceVersion);
    s.setData(new LinkedHashMap<>(Map.of(KEYSET_WRAPPED,
        Base64.getEncoder().encodeToString(wrap(keys, kek, associatedData(namespace))))));
    s.getMetadata().getAnnotations().put(WRAPPED_BY, kekName);
    return s;
  }

  /** Tink's encrypted keyset format under {@code kek}, bound to {@code associatedData}. */
  public static byte[] wrap(KeysetHandle keys, Aead kek, byte[] associatedData) throws GeneralSecurityException {
    return TinkProtoKeysetFormat.serializeEncryptedKeyset(keys, kek, associatedData);
  }

  /** Opens {@link #wrap}'s output; fails unless the same KMS key and associated data, and a private sealing keyset. */
  public static KeysetHandle unwrap(byte[] wrapped, Aead kek, byte[] associatedData) throws GeneralSecurityException {
    KeysetHandle keys = TinkProtoKeysetFormat.parseEncryptedKeyset(wrapped, kek, associatedData);
    if (!(keys.getPrimary().getKey() instanceof HybridPrivateKey)) {
      throw new GeneralSecurityException("the wrapped keyset is not a private sealing keyset");
    }
    return keys;
  }

  /** A KMS failure in words: the KMS client's message names the KMS, the status and the error, nothing secret. */
  private String kmsFailure(GeneralSecurityException e) {
    String kind = e instanceof io.safedefaults.microapp.kms.KmsUnavailableException ? "the KMS cannot be asked"
        : "the KMS key " + kekName + " refused";
    return kind + " (" + e.getMessage() + ")";
  }

  @Override
  public void close() {
    if (watch != null) {
      watch.close();
    }
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
    } else if (!Objects.equals(existing.getData(), cm.getData()) || !labelled(existing.getMetadata().getLabels())) {
      // The label too: the chart's admission policy lets this identity write only objects labelled
      // as the operator's, and one restored by hand may have lost it.
      existing.setData(cm.getData());
      existing.getMetadata().setLabels(new LinkedHashMap<>(
          Optional.ofNullable(existing.getMetadata().getLabels()).orElse(Map.of())));
      existing.getMetadata().getLabels().put(Names.MANAGED_BY_KEY, Names.MANAGED_BY);
      client.configMaps().inNamespace(namespace).resource(existing).update();
    }
  }

  private static boolean labelled(Map<String, String> labels) {
    return labels != null && Names.MANAGED_BY.equals(labels.get(Names.MANAGED_BY_KEY));
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
