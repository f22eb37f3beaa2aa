package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.SecretsSpec;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.cli.RunCommand;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.HealthServer;
import io.safedefaults.microapp.secrets.SealedValue;
import io.safedefaults.microapp.secrets.SealedValueDecryptor;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.secrets.SealingKeys;
import io.safedefaults.microapp.status.Conditions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sealing keys Secret lost while apps have sealed values (issue 12): a loud state on every
 * affected app, in the metrics and on /readyz; no new keyset behind the users' backs, at a restart
 * either; the restored backup used without a restart. Its own API server, because the operator
 * here has no periodic resync: the apps must follow the keys because the store says they changed.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class SealingKeysLostApiServerTest {
  static KubernetesClient client;
  static final String KEYS_NS = "microapp-system";
  static final String MISSING = "the sealing keys Secret " + KEYS_NS + "/" + SealingKeyStore.SECRET + " is missing";
  static final SimpleMeterRegistry REGISTRY = new SimpleMeterRegistry();
  static SealingKeyStore keys;
  static Operator operator;
  static HealthServer health;
  String ns;

  @BeforeAll
  static void startOperator() throws Exception {
    TestCluster.installCrd(client);
    TestCluster.restrictedNamespace(client, KEYS_NS);
    keys = new SealingKeyStore(client, KEYS_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure(List.of(), false);
    OperatorMetrics metrics = new OperatorMetrics(REGISTRY);
    metrics.sealingKeysAvailable(keys::available);
    MicroAppReconciler reconciler = new MicroAppReconciler(OperatorConfig.builder().clusterIssuer("letsencrypt-test")
        .defaultIssuer("https://login.example.com/realms/acme").build(), metrics, keys::decryptor);
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofHours(1)));
    keys.watch(reconciler::sealingKeysChanged);
    operator.start();
    health = new HealthServer("127.0.0.1", 0, () -> true, () -> RunCommand.unready(operator, keys), () -> "");
  }

  @AfterAll
  static void stopOperator() {
    health.close();
    operator.stop();
    keys.close();
  }

  @BeforeEach
  void namespace() {
    ns = "t-" + UUID.randomUUID().toString().substring(0, 8);
    TestCluster.restrictedNamespace(client, ns);
  }

  /** Each test starts from a cluster where no app has sealed values. */
  @AfterEach
  void removeApps() {
    client.resources(MicroApp.class).inNamespace(ns).delete();
    await().until(() -> client.resources(MicroApp.class).inNamespace(ns).list().getItems().isEmpty());
  }

  @Test
  void lostKeysAreLoudUntilTheBackupIsRestoredAndNeverReplacedAtARestart() throws Exception {
    createAppWithSealedValue(keys);
    awaitSecretsSealed("True", "Unsealed");
    Secret opened = await().until(() -> client.secrets().inNamespace(ns).withName("where2eat-sealed").get(), s -> s != null);
    long primaryKey = keys.decryptor().primaryKeyId();
    Secret backup = keysSecret(KEYS_NS);

    client.secrets().inNamespace(KEYS_NS).withName(SealingKeyStore.SECRET).delete();

    StatusCondition lost = awaitSecretsSealed("False", SealedValueDecryptor.KEYS_MISSING);
    assertThat(lost.getMessage()).startsWith(MISSING + "; restore it from the backup")
        .contains("kubectl apply -f").contains("keys import")
        .endsWith("1 sealed value(s) cannot be opened, the previous values stay in place");
    assertThat(events("Warning", SealedValueDecryptor.KEYS_MISSING)).as("one Warning for the one cause").hasSize(1);
    assertThat(keysGauge()).isZero();
    HttpResponse<String> readyz = readyz();
    assertThat(readyz.statusCode()).isEqualTo(503);
    assertThat(readyz.body()).contains(MISSING);
    assertThat(client.secrets().inNamespace(ns).withName("where2eat-sealed").get().getData())
        .as("the app keeps its opened values").isEqualTo(opened.getData());

    // A restarted operator finds the Secret gone and an app that needs it: it mints nothing.
    try (SealingKeyStore restarted = new SealingKeyStore(client, KEYS_NS, Duration.ofDays(30), Clock.systemUTC())) {
      restarted.ensure(List.of(), false);
      assertThat(restarted.available()).isFalse();
      assertThat(restarted.problem()).hasValueSatisfying(p -> assertThat(p).startsWith(MISSING));
    }
    assertThat(keysSecret(KEYS_NS)).as("no new keyset in place of the lost one").isNull();

    // kubectl apply -f of the saved Secret: the running operator takes it up, the app recovers
    client.resource(new SecretBuilder().withMetadata(new ObjectMetaBuilder()
            .withName(backup.getMetadata().getName()).withNamespace(KEYS_NS)
            .withLabels(backup.getMetadata().getLabels()).withAnnotations(backup.getMetadata().getAnnotations()).build())
        .withType(backup.getType()).withData(backup.getData()).build()).create();

    awaitSecretsSealed("True", "Unsealed");
    assertThat(events("Normal", "Unsealed")).as("the recovery is announced once").hasSize(1);
    assertThat(keys.decryptor().primaryKeyId()).isEqualTo(primaryKey);
    assertThat(keysGauge()).isEqualTo(1);
    assertThat(readyz().statusCode()).isEqualTo(200);
  }

  @Test
  void aClusterWithoutSealedValuesGetsKeysAndOnlyTheFlagReplacesLostOnes() {
    String elsewhere = "keys-" + UUID.randomUUID().toString().substring(0, 8);
    TestCluster.restrictedNamespace(client, elsewhere);
    long first;
    try (SealingKeyStore fresh = new SealingKeyStore(client, elsewhere, Duration.ofDays(30), Clock.systemUTC())) {
      fresh.ensure(List.of(), false);
      assertThat(fresh.available()).as("a fresh cluster gets a keyset").isTrue();
      first = fresh.decryptor().primaryKeyId();
      assertThat(client.configMaps().inNamespace(elsewhere).withName(SealingKeyStore.PUBLIC_CONFIGMAP).get()).isNotNull();
      createAppWithSealedValue(fresh);
    }
    client.secrets().inNamespace(elsewhere).withName(SealingKeyStore.SECRET).delete();

    try (SealingKeyStore restarted = new SealingKeyStore(client, elsewhere, Duration.ofDays(30), Clock.systemUTC())) {
      restarted.ensure(List.of(), false);
      assertThat(restarted.available()).isFalse();
    }
    assertThat(keysSecret(elsewhere)).isNull();

    // A restore gone wrong (the public half applied as the keys) is not taken for keys, nor replaced.
    Secret wrong = client.resource(new SecretBuilder().withNewMetadata().withName(SealingKeyStore.SECRET)
        .withNamespace(elsewhere).endMetadata().addToStringData(SealingKeyStore.KEYSET,
            SealingKeys.serializePublic(SealingKeys.publicKeys(SealingKeys.generate()))).build()).create();
    try (SealingKeyStore misled = new SealingKeyStore(client, elsewhere, Duration.ofDays(30), Clock.systemUTC())) {
      misled.ensure(List.of(), true);
      assertThat(misled.available()).isFalse();
      assertThat(misled.problem()).hasValueSatisfying(p -> assertThat(p).startsWith(
          "the sealing keys Secret " + elsewhere + "/" + SealingKeyStore.SECRET + " holds no readable keyset"));
    }
    assertThat(keysSecret(elsewhere).getData()).isEqualTo(wrong.getData());
    client.resource(wrong).delete();
    await().until(() -> keysSecret(elsewhere) == null);

    try (SealingKeyStore told = new SealingKeyStore(client, elsewhere, Duration.ofDays(30), Clock.systemUTC())) {
      told.ensure(List.of(), true);
      assertThat(told.available()).as("--allow-new-sealing-keys").isTrue();
      assertThat(told.decryptor().primaryKeyId()).isNotEqualTo(first);
    }
    assertThat(keysSecret(elsewhere)).isNotNull();
  }

  void createAppWithSealedValue(SealingKeyStore with) {
    MicroApp app = TestApps.where2eat(ns);
    app.getSpec().setSecrets(new SecretsSpec());
    app.getSpec().getSecrets().getSealed().put("MAPS_API_KEY", new Sealer(with.publicKeys())
        .seal("maps-key".getBytes(StandardCharsets.UTF_8), SealedValue.Scope.APP, ns, "where2eat", "MAPS_API_KEY").text());
    client.resource(app).create();
  }

  StatusCondition awaitSecretsSealed(String status, String reason) {
    return await().atMost(Duration.ofSeconds(30)).until(
        () -> Conditions.find(client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get().getStatus(),
            Conditions.SECRETS_SEALED).orElse(null),
        c -> c != null && status.equals(c.getStatus()) && reason.equals(c.getReason()));
  }

  List<Event> events(String type, String reason) {
    return client.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> type.equals(e.getType()) && reason.equals(e.getReason())).toList();
  }

  /**
   * The chart's admission policy lets the operator's identity write only objects labelled as its
   * own (helm/microapp-operator/templates/admission-policy.yaml). Keys restored by hand without the
   * label get it back at the operator's next write, so a later rotation is never the one refused.
   */
  @Test
  void keysRestoredWithoutTheChildLabelGetItBackAtTheNextWrite() {
    String elsewhere = "keys-" + UUID.randomUUID().toString().substring(0, 8);
    TestCluster.restrictedNamespace(client, elsewhere);
    try (SealingKeyStore store = new SealingKeyStore(client, elsewhere, Duration.ofDays(30), Clock.systemUTC())) {
      store.ensure(List.of(), false);
      client.configMaps().inNamespace(elsewhere).withName(SealingKeyStore.PUBLIC_CONFIGMAP)
          .edit(cm -> new io.fabric8.kubernetes.api.model.ConfigMapBuilder(cm).editMetadata()
              .removeFromLabels(Names.MANAGED_BY_KEY).endMetadata().build());
      client.secrets().inNamespace(elsewhere).withName(SealingKeyStore.SECRET)
          .edit(sec -> new SecretBuilder(sec).editMetadata().removeFromLabels(Names.MANAGED_BY_KEY).endMetadata().build());

      try (SealingKeyStore restarted = new SealingKeyStore(client, elsewhere, Duration.ofDays(30), Clock.systemUTC())) {
        restarted.ensure(List.of(), false);
        assertThat(client.configMaps().inNamespace(elsewhere).withName(SealingKeyStore.PUBLIC_CONFIGMAP).get()
            .getMetadata().getLabels()).as("the public key, labelled again at start").containsEntry(Names.MANAGED_BY_KEY, Names.MANAGED_BY);
        restarted.rotate();
      }
      assertThat(keysSecret(elsewhere).getMetadata().getLabels()).as("the keyset, labelled again by the rotation")
          .containsEntry(Names.MANAGED_BY_KEY, Names.MANAGED_BY);
    }
  }

  static Secret keysSecret(String namespace) {
    return client.secrets().inNamespace(namespace).withName(SealingKeyStore.SECRET).get();
  }

  static double keysGauge() {
    return REGISTRY.get("microapp_sealing_keys_available").gauge().value();
  }

  static HttpResponse<String> readyz() throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + health.port() + "/readyz")).build(), HttpResponse.BodyHandlers.ofString());
  }
}
