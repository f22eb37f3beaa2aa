package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.hybrid.HpkePrivateKey;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.SecretsSpec;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.LocalKms;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.secrets.SealedValue;
import io.safedefaults.microapp.secrets.SealedValueDecryptor;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.secrets.SealingKeys;
import io.safedefaults.microapp.status.Conditions;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sealing keyset wrapped under a KMS key (issue 18, item 4) on a real kube-apiserver, with
 * local-kms as a real AWS KMS JSON API: the Secret alone opens nothing, apps seal and open and the
 * keys rotate as without a KMS, a plaintext keyset is re-wrapped when the KMS is switched on, a
 * wrapped keyset copied elsewhere does not open, and a KMS that cannot be asked is a stated problem
 * with nothing written.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class SealingKeysKmsApiServerTest {
  static KubernetesClient client;
  static final String KEYS_NS = "microapp-system";
  static LocalKms kms;
  static Kms flags;
  static SealingKeyStore keys;
  static Operator operator;

  @BeforeAll
  static void startOperator() throws Exception {
    kms = new LocalKms();
    flags = kms.kms(LocalKms.KEY_A);
    TestCluster.installCrd(client);
    TestCluster.restrictedNamespace(client, KEYS_NS);
    keys = store(KEYS_NS, kek());
    keys.ensure(List.of(), false);
    MicroAppReconciler reconciler = new MicroAppReconciler(OperatorConfig.builder().clusterIssuer("letsencrypt-test")
        .defaultIssuer("https://login.example.com/realms/acme").build(), new OperatorMetrics(new SimpleMeterRegistry()),
        keys::decryptor);
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofHours(1)));
    keys.watch(reconciler::sealingKeysChanged);
    operator.start();
  }

  @AfterAll
  static void stop() throws Exception {
    operator.stop();
    keys.close();
    kms.close();
  }

  static Aead kek() {
    return flags.kek(LocalKms.ENV);
  }

  static SealingKeyStore store(String ns, Aead kek) {
    return new SealingKeyStore(client, ns, Duration.ofDays(30), Clock.systemUTC(), kek,
        kek == null ? null : flags.uri().name());
  }

  @Test
  void theSecretAloneOpensNothingWhileAppsSealOpenAndRotateAsWithoutKms() throws Exception {
    Secret stored = keysSecret(KEYS_NS);
    assertThat(stored.getData()).containsOnlyKeys(SealingKeyStore.KEYSET_WRAPPED);
    assertThat(stored.getMetadata().getAnnotations()).containsEntry(SealingKeyStore.WRAPPED_BY,
        "aws-kms://" + LocalKms.arn(LocalKms.KEY_A));
    byte[] bytes = Base64.getDecoder().decode(stored.getData().get(SealingKeyStore.KEYSET_WRAPPED));
    // What a copy of the Secret gives away: no private key, in any encoding; nothing Tink parses as a keyset.
    assertThat(new String(bytes, StandardCharsets.ISO_8859_1)).as("the X25519 private key is not in the Secret")
        .doesNotContain(new String(privateKey(keys), StandardCharsets.ISO_8859_1));
    assertThatThrownBy(() -> SealingKeys.parsePrivate(new String(bytes, StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealingKeyStore.unwrap(bytes, kms.kek(LocalKms.KEY_B), SealingKeyStore.associatedData(KEYS_NS)))
        .as("another KMS key").hasMessageContaining("InvalidCiphertextException");
    try (SealingKeyStore withoutKms = store(KEYS_NS, null)) {
      withoutKms.ensure(List.of(), false);
      assertThat(withoutKms.available()).isFalse();
      assertThat(withoutKms.problem()).hasValueSatisfying(p -> assertThat(p).contains("is wrapped by the KMS key aws-kms://")
          .contains("start the operator with --kms-uri aws-kms://" + LocalKms.arn(LocalKms.KEY_A)));
    }
    assertThat(keysSecret(KEYS_NS).getMetadata().getResourceVersion()).as("a store without the KMS writes nothing")
        .isEqualTo(stored.getMetadata().getResourceVersion());

    String ns = namespace();
    long firstKey = keys.decryptor().primaryKeyId();
    MicroApp app = TestApps.where2eat(ns);
    app.getSpec().setSecrets(new SecretsSpec());
    app.getSpec().getSecrets().getSealed().put("OLD", seal("old-value", ns, "OLD"));
    client.resource(app).create();
    awaitSecretsSealed(ns, "True", "Unsealed");

    keys.rotate();
    long secondKey = keys.decryptor().primaryKeyId();
    assertThat(secondKey).isNotEqualTo(firstKey);
    Secret rotated = keysSecret(KEYS_NS);
    assertThat(rotated.getData()).as("rotation keeps the keyset wrapped").containsOnlyKeys(SealingKeyStore.KEYSET_WRAPPED);
    String newValue = seal("new-value", ns, "NEW");
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> // 409 while the operator writes status
        client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").edit(a -> {
          a.getSpec().getSecrets().getSealed().put("NEW", newValue);
          return a;
        }));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      MicroApp a = client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get();
      assertThat(a.getStatus().getSealedValues()).extracting(v -> v.name() + ":" + v.currentKey())
          .containsExactlyInAnyOrder("OLD:false", "NEW:true");
      Secret s = client.secrets().inNamespace(ns).withName("where2eat-sealed").get();
      assertThat(new String(Base64.getDecoder().decode(s.getData().get("OLD")), StandardCharsets.UTF_8)).isEqualTo("old-value");
      assertThat(new String(Base64.getDecoder().decode(s.getData().get("NEW")), StandardCharsets.UTF_8)).isEqualTo("new-value");
    });

    // A restarted operator unwraps the same keys through the KMS; it makes no new ones.
    try (SealingKeyStore restarted = store(KEYS_NS, kek())) {
      restarted.ensure(List.of(), false);
      assertThat(restarted.decryptor().primaryKeyId()).isEqualTo(secondKey);
      assertThat(SealingKeys.keyIds(restarted.publicKeys())).containsExactly(firstKey, secondKey);
    }

    // Lost, then restored from a saved copy (kubectl apply): the running store unwraps it through the KMS.
    Secret saved = keysSecret(KEYS_NS);
    client.secrets().inNamespace(KEYS_NS).withName(SealingKeyStore.SECRET).delete();
    awaitSecretsSealed(ns, "False", SealedValueDecryptor.KEYS_MISSING);
    client.resource(new SecretBuilder().withNewMetadata().withName(SealingKeyStore.SECRET).withNamespace(KEYS_NS)
        .withLabels(saved.getMetadata().getLabels()).withAnnotations(saved.getMetadata().getAnnotations()).endMetadata()
        .withData(saved.getData()).build()).create();
    awaitSecretsSealed(ns, "True", "Unsealed");
    assertThat(keys.decryptor().primaryKeyId()).isEqualTo(secondKey);
    client.resources(MicroApp.class).inNamespace(ns).delete();
  }

  @Test
  void switchingTheKmsOnRewrapsAPlaintextKeysetInPlaceAndItsValuesStillOpen() throws Exception {
    String ns = namespace();
    String sealed;
    List<Long> ids;
    try (SealingKeyStore plain = store(ns, null)) {
      plain.ensure(List.of(ns), false);
      plain.rotate();
      ids = SealingKeys.keyIds(plain.publicKeys());
      sealed = new Sealer(plain.publicKeys()).seal("v".getBytes(StandardCharsets.UTF_8), SealedValue.Scope.APP, "a", "b", "K")
          .text();
    }
    Secret before = keysSecret(ns);
    assertThat(before.getData()).containsOnlyKeys(SealingKeyStore.KEYSET);

    try (SealingKeyStore withKms = store(ns, kek())) {
      withKms.ensure(List.of(), false);
      assertThat(withKms.available()).isTrue();
      assertThat(SealingKeys.keyIds(withKms.publicKeys())).as("the same keys, wrapped").isEqualTo(ids);
      assertThat(withKms.decryptor().open(sealed, "a", "b", "K")).isEqualTo("v".getBytes(StandardCharsets.UTF_8));
    }
    Secret after = keysSecret(ns);
    assertThat(after.getData()).as("the plaintext copy is gone").containsOnlyKeys(SealingKeyStore.KEYSET_WRAPPED);
    assertThat(after.getMetadata().getAnnotations()).containsEntry(SealingKeyStore.PRIMARY_CREATED,
        before.getMetadata().getAnnotations().get(SealingKeyStore.PRIMARY_CREATED));
    // and it opens only through the KMS
    try (SealingKeyStore again = store(ns, kek())) {
      again.ensure(List.of(), false);
      assertThat(again.decryptor().open(sealed, "a", "b", "K")).isEqualTo("v".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(keysSecret(ns).getMetadata().getResourceVersion()).as("a wrapped keyset is not rewritten at load")
        .isEqualTo(after.getMetadata().getResourceVersion());
  }

  @Test
  void aWrappedKeysetCopiedIntoAnotherNamespacesSecretDoesNotOpenThere() throws Exception {
    String ns = namespace();
    Secret original = keysSecret(KEYS_NS);
    client.resource(new SecretBuilder().withNewMetadata().withName(SealingKeyStore.SECRET).withNamespace(ns)
        .withAnnotations(original.getMetadata().getAnnotations()).endMetadata()
        .withData(original.getData()).build()).create();
    String rv = keysSecret(ns).getMetadata().getResourceVersion();
    try (SealingKeyStore elsewhere = store(ns, kek())) {
      elsewhere.ensure(List.of(), false);
      assertThat(elsewhere.available()).isFalse();
      assertThat(elsewhere.problem()).hasValueSatisfying(p -> assertThat(p)
          .startsWith("the sealing keys Secret " + ns + "/" + SealingKeyStore.SECRET + " cannot be unwrapped: the KMS key")
          .contains("refused").contains("InvalidCiphertextException"));
      assertThat(elsewhere.decryptor().hasKeys()).isFalse();
    }
    assertThat(keysSecret(ns).getMetadata().getResourceVersion()).isEqualTo(rv);
    byte[] bytes = Base64.getDecoder().decode(original.getData().get(SealingKeyStore.KEYSET_WRAPPED));
    for (String otherNs : List.of(ns, "microapp-system2", "microapp-syste", "")) {
      assertThatThrownBy(() -> SealingKeyStore.unwrap(bytes, kek(), SealingKeyStore.associatedData(otherNs)))
          .hasMessageContaining("InvalidCiphertextException");
    }
  }

  @Test
  void aKmsThatCannotBeAskedIsAStatedProblemAndNothingIsWritten() throws Exception {
    // A KMS of its own, stopped half way: keys loaded while it answered stay in use.
    LocalKms own = new LocalKms();
    Kms ownFlags = own.kms(LocalKms.KEY_A);
    String wrappedNs = namespace();
    SealingKeyStore loaded = new SealingKeyStore(client, wrappedNs, Duration.ofDays(30), Clock.systemUTC(),
        ownFlags.kek(LocalKms.ENV), ownFlags.uri().name());
    loaded.ensure(List.of(wrappedNs), false);
    String plainNs = namespace();
    try (SealingKeyStore plain = store(plainNs, null)) {
      plain.ensure(List.of(plainNs), false);
    }
    own.close();
    Aead down = ownFlags.kek(LocalKms.ENV);
    String unreachable = "the KMS cannot be asked (AWS KMS " + own.endpoint() + " cannot be reached";

    String wrappedRv = keysSecret(wrappedNs).getMetadata().getResourceVersion();
    assertThatThrownBy(loaded::rotate).isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("sealing key rotation postponed: " + unreachable)
        .hasMessageEndingWith("the current keys stay in use and nothing was written");
    assertThat(loaded.available()).isTrue();
    assertThat(keysSecret(wrappedNs).getMetadata().getResourceVersion()).isEqualTo(wrappedRv);
    loaded.close();

    try (SealingKeyStore restarted = new SealingKeyStore(client, wrappedNs, Duration.ofDays(30), Clock.systemUTC(), down,
        ownFlags.uri().name())) {
      restarted.ensure(List.of(), false);
      assertThat(restarted.available()).isFalse();
      assertThat(restarted.problem()).hasValueSatisfying(p -> assertThat(p).contains("cannot be unwrapped: " + unreachable)
          .contains("retried every 5 minutes"));
    }

    String plainRv = keysSecret(plainNs).getMetadata().getResourceVersion();
    try (SealingKeyStore switchedOn = new SealingKeyStore(client, plainNs, Duration.ofDays(30), Clock.systemUTC(), down,
        ownFlags.uri().name())) {
      switchedOn.ensure(List.of(), false);
      assertThat(switchedOn.available()).as("a plaintext keyset is not used until wrapped").isFalse();
      assertThat(switchedOn.problem()).hasValueSatisfying(p -> assertThat(p)
          .contains("holds a plaintext keyset that cannot be wrapped: " + unreachable));
    }
    assertThat(keysSecret(plainNs).getMetadata().getResourceVersion()).isEqualTo(plainRv);

    String emptyNs = namespace();
    try (SealingKeyStore fresh = new SealingKeyStore(client, emptyNs, Duration.ofDays(30), Clock.systemUTC(), down,
        ownFlags.uri().name())) {
      assertThatThrownBy(() -> fresh.ensure(List.of(emptyNs), false)).isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("cannot create the sealing keyset: " + unreachable)
          .hasMessageContaining("nothing was written");
    }
    assertThat(keysSecret(emptyNs)).as("no keyset, wrapped or plaintext").isNull();
  }

  @Test
  void theCliExportsAWrappedKeysetOnlyWithTheKmsAndImportsItWrapped() throws Exception {
    String ns = namespace();
    List<Long> ids;
    try (SealingKeyStore wrapped = store(ns, kek())) {
      wrapped.ensure(List.of(ns), false);
      ids = SealingKeys.keyIds(wrapped.publicKeys());
    }
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("kms-cli");
    String[] kmsFlags = {"--kms-uri", "aws-kms://" + LocalKms.arn(LocalKms.KEY_A), "--kms-endpoint", kms.endpoint()};
    Map<String, String> props = new java.util.LinkedHashMap<>(Map.of("aws.accessKeyId", "AKIDLOCALKMS",
        "aws.secretAccessKey", "local-kms-accepts-any-secret", "kubernetes.auth.tryKubeConfig", "false",
        "kubernetes.auth.tryServiceAccount", "false", "kubernetes.master", client.getConfiguration().getMasterUrl()));
    var c = client.getConfiguration();
    putIfSet(props, "kubernetes.certs.ca.data", c.getCaCertData());
    putIfSet(props, "kubernetes.certs.ca.file", c.getCaCertFile());
    putIfSet(props, "kubernetes.certs.client.data", c.getClientCertData());
    putIfSet(props, "kubernetes.certs.client.file", c.getClientCertFile());
    putIfSet(props, "kubernetes.certs.client.key.data", c.getClientKeyData());
    putIfSet(props, "kubernetes.certs.client.key.file", c.getClientKeyFile());
    putIfSet(props, "kubernetes.auth.token", c.getOauthToken());
    props.forEach(System::setProperty);
    try {
      Cli without = cli("keys", "export", "--keys-namespace", ns, "--out", dir.resolve("a.json").toString());
      assertThat(without.code()).isNotZero();
      assertThat(without.err()).contains("is wrapped by the KMS key aws-kms://" + LocalKms.arn(LocalKms.KEY_A))
          .contains("pass --kms-uri");
      assertThat(dir.resolve("a.json")).doesNotExist();

      List<String> export = new java.util.ArrayList<>(List.of("keys", "export", "--keys-namespace", ns, "--out",
          dir.resolve("b.json").toString()));
      export.addAll(List.of(kmsFlags));
      Cli exported = cli(export.toArray(String[]::new));
      assertThat(exported.code()).as(exported.err()).isZero();
      assertThat(SealingKeys.keyIds(SealingKeys.parsePrivate(java.nio.file.Files.readString(dir.resolve("b.json")))))
          .isEqualTo(ids);

      String target = namespace();
      List<String> imp = new java.util.ArrayList<>(List.of("keys", "import", "--keys-namespace", target, "--file",
          dir.resolve("b.json").toString()));
      imp.addAll(List.of(kmsFlags));
      Cli imported = cli(imp.toArray(String[]::new));
      assertThat(imported.code()).as(imported.err()).isZero();
      Secret restored = keysSecret(target);
      assertThat(restored.getData()).as("imported wrapped, for its new namespace").containsOnlyKeys(SealingKeyStore.KEYSET_WRAPPED);
      try (SealingKeyStore there = store(target, kek())) {
        there.ensure(List.of(target), false);
        assertThat(SealingKeys.keyIds(there.publicKeys())).isEqualTo(ids);
      }
    } finally {
      props.keySet().forEach(System::clearProperty);
      try (var files = java.nio.file.Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  record Cli(int code, String err) {}

  static Cli cli(String... args) {
    java.io.StringWriter err = new java.io.StringWriter();
    var cl = io.safedefaults.microapp.cli.Main.commandLine();
    cl.setOut(new java.io.PrintWriter(new java.io.StringWriter()));
    cl.setErr(new java.io.PrintWriter(err));
    int code = cl.execute(args);
    return new Cli(code, err.toString());
  }

  static void putIfSet(Map<String, String> m, String k, String v) {
    if (v != null && !v.isBlank()) {
      m.put(k, v);
    }
  }

  static byte[] privateKey(SealingKeyStore store) throws Exception {
    // The store hands out public keys only; the private key is read back through the KMS.
    Secret s = keysSecret(store.namespace());
    KeysetHandle priv = SealingKeyStore.unwrap(Base64.getDecoder().decode(s.getData().get(SealingKeyStore.KEYSET_WRAPPED)),
        kek(), SealingKeyStore.associatedData(store.namespace()));
    return ((HpkePrivateKey) priv.getPrimary().getKey()).getPrivateKeyBytes().toByteArray(InsecureSecretKeyAccess.get());
  }

  static String seal(String value, String ns, String key) {
    return new Sealer(keys.publicKeys()).seal(value.getBytes(StandardCharsets.UTF_8), SealedValue.Scope.APP, ns, "where2eat", key)
        .text();
  }

  static String namespace() {
    String ns = "t-" + UUID.randomUUID().toString().substring(0, 8);
    TestCluster.restrictedNamespace(client, ns);
    return ns;
  }

  static Secret keysSecret(String namespace) {
    return client.secrets().inNamespace(namespace).withName(SealingKeyStore.SECRET).get();
  }

  static StatusCondition awaitSecretsSealed(String ns, String status, String reason) {
    return await().atMost(Duration.ofSeconds(30)).until(
        () -> Conditions.find(client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get().getStatus(),
            Conditions.SECRETS_SEALED).orElse(null),
        c -> c != null && status.equals(c.getStatus()) && reason.equals(c.getReason()));
  }
}
