package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.auth.SessionKeyWrapping;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.KmsUri;
import io.safedefaults.microapp.kms.TransitTestDouble;
import io.safedefaults.microapp.kms.WrappedSessionKeys;
import io.safedefaults.microapp.kms.WrappedSessionKeys.Part;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.OperatorConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every app's session keyset wrapped under a Vault Transit key (issue 18, item 4) on a real
 * kube-apiserver. Vault is the Transit TEST DOUBLE of kms/ (no Vault or OpenBao builds from the
 * registries here); its Kubernetes auth asks this API server's TokenReview whose token a sidecar
 * presents, as Vault does. The sidecar's side is the code the sidecar runs (the kms module's
 * login and {@link WrappedSessionKeys}) with a token from this API server's TokenRequest, which is
 * what the kubelet projects into the sidecar container.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class SessionKeysKmsApiServerTest {
  static final String AUDIENCE = "vault";
  static KubernetesClient client;
  static TransitTestDouble vault;
  static Operator operator;
  static String sessionKeyUri;

  @BeforeAll
  static void startOperator() throws Exception {
    AeadConfig.register();
    vault = new TransitTestDouble("transit", "microapp-sessions", "microapp-sealing");
    // bound like a platform team would: the sidecars of every app namespace named t-*, here by list
    vault.kubernetesAuth("kubernetes", "microapp-sidecar", Set.of("*/where2eat", "*/landing"),
        SessionKeysKmsApiServerTest::tokenReview, 600);
    sessionKeyUri = vault.uri("microapp-sessions");
    OperatorConfig config = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
        .defaultIssuer("https://login.example.com/realms/acme")
        .sessionKeyKms(OperatorConfig.SessionKeyKms.vault(sessionKeyUri, null, Files.readString(vault.caFile), "kubernetes",
            "microapp-sidecar", AUDIENCE))
        .build();
    TestCluster.installCrd(client);
    MicroAppReconciler reconciler = new MicroAppReconciler(config, new OperatorMetrics(new SimpleMeterRegistry()), () -> null)
        .wrapSessionKeysWith(new SessionKeyWrapping(vault.kek("microapp-sessions"), sessionKeyUri));
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofHours(1)));
    operator.start();
  }

  @AfterAll
  static void stop() throws Exception {
    operator.stop();
    vault.close();
  }

  /** What Vault's Kubernetes auth does with a JWT: a TokenReview for the role's audience. */
  static Optional<String> tokenReview(String jwt) {
    TokenReview review = client.resource(new TokenReviewBuilder().withNewSpec().withToken(jwt).withAudiences(AUDIENCE)
        .endSpec().build()).create();
    if (review.getStatus() == null || !Boolean.TRUE.equals(review.getStatus().getAuthenticated())) {
      return Optional.empty();
    }
    String user = review.getStatus().getUser().getUsername(); // system:serviceaccount:<ns>:<name>
    String[] parts = user.split(":");
    return parts.length == 4 && user.startsWith("system:serviceaccount:") ? Optional.of(parts[2] + "/" + parts[3])
        : Optional.empty();
  }

  /** The token the kubelet would project for a pod of this service account. */
  static Path projectedToken(String ns, String serviceAccount, String audience) throws Exception {
    String jwt = client.serviceAccounts().inNamespace(ns).withName(serviceAccount).tokenRequest(new TokenRequestBuilder()
        .withNewSpec().withAudiences(audience).withExpirationSeconds(600L).endSpec().build()).getStatus().getToken();
    Path file = Files.createTempFile(vault.dir, "projected", ".jwt");
    Files.writeString(file, jwt);
    return file;
  }

  /** The sidecar's key-encryption key, built from what its configuration says. */
  static Aead sidecarKek(JsonNode kms, Path token) {
    return new Kms(KmsUri.parse(kms.path("uri").asText(), null), null,
        new Kms.VaultLogin(kms.path("vault").path("authPath").asText(), kms.path("vault").path("role").asText(), token),
        vault.caFile).kek(Map.of());
  }

  @Test
  void aCopyOfTheSecretOpensNothingWhileTheAppsOwnSidecarOpensItsKeys() throws Exception {
    String ns = "t-" + UUID.randomUUID().toString().substring(0, 8);
    TestCluster.restrictedNamespace(client, ns);
    client.resource(TestApps.where2eat(ns)).create();
    Secret keys = await().atMost(Duration.ofSeconds(30)).until(
        () -> client.secrets().inNamespace(ns).withName("where2eat-session-keys").get(), s -> s != null);

    // the Secret: only the wrapped parts, and the key that wrapped them
    assertThat(keys.getData()).containsOnlyKeys(Part.KEYSET.file, Part.USER_ID_SALT.file);
    assertThat(keys.getMetadata().getAnnotations()).containsEntry(Kms.WRAPPED_BY, sessionKeyUri);
    byte[] wrappedKeyset = Base64.getDecoder().decode(keys.getData().get(Part.KEYSET.file));
    byte[] wrappedSalt = Base64.getDecoder().decode(keys.getData().get(Part.USER_ID_SALT.file));
    assertThatThrownBy(() -> TinkJsonProtoKeysetFormat.parseKeyset(new String(wrappedKeyset, StandardCharsets.UTF_8),
        InsecureSecretKeyAccess.get())).as("nothing in the Secret parses as a keyset").isInstanceOf(Exception.class);

    // the sidecar as the operator configured it: config, projected token in its container alone
    ConfigMap cm = client.configMaps().inNamespace(ns).withName(Names.sidecarConfigMap(TestApps.where2eat(ns))).get();
    JsonNode config = new ObjectMapper().readTree(cm.getData().get(SidecarConfig.FILE));
    JsonNode kms = config.path("session").path("kms");
    assertThat(kms.path("uri").asText()).isEqualTo(sessionKeyUri);
    assertThat(kms.path("caFile").asText()).isEqualTo(SidecarConfig.DIR + "/" + SidecarConfig.KMS_CA_FILE);
    assertThat(cm.getData().get(SidecarConfig.KMS_CA_FILE)).contains("BEGIN CERTIFICATE");
    assertThat(kms.path("app").path("namespace").asText()).isEqualTo(ns);
    assertThat(config.path("session").path("keysetFile").asText()).endsWith("/" + Part.KEYSET.file);
    assertThat(config.path("userIdSaltFile").asText()).endsWith("/" + Part.USER_ID_SALT.file);
    PodSpec pod = await().atMost(Duration.ofSeconds(30)).until(
        () -> client.apps().deployments().inNamespace(ns).withName("where2eat").get(), d -> d != null)
        .getSpec().getTemplate().getSpec();
    Volume token = pod.getVolumes().stream().filter(v -> v.getProjected() != null).findFirst().orElseThrow();
    assertThat(token.getProjected().getSources()).singleElement().satisfies(s -> {
      assertThat(s.getServiceAccountToken().getAudience()).isEqualTo(AUDIENCE);
      assertThat(s.getServiceAccountToken().getExpirationSeconds()).isEqualTo(600L);
    });
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
    for (Container c : pod.getContainers()) {
      boolean mounts = c.getVolumeMounts().stream().anyMatch(m -> m.getName().equals(token.getName()));
      assertThat(mounts).as("container %s mounts the Vault token", c.getName()).isEqualTo(c.getName().equals(Names.SIDECAR_CONTAINER));
    }

    // the app's own sidecar: a login with its service account's token opens both parts
    Aead own = sidecarKek(kms, projectedToken(ns, pod.getServiceAccountName(), AUDIENCE));
    KeysetHandle keyset = TinkJsonProtoKeysetFormat.parseKeyset(new String(
        WrappedSessionKeys.open(wrappedKeyset, own, Part.KEYSET, ns, "where2eat"), StandardCharsets.UTF_8),
        InsecureSecretKeyAccess.get());
    assertThat(keyset.size()).isEqualTo(1);
    assertThat(WrappedSessionKeys.open(wrappedSalt, own, Part.USER_ID_SALT, ns, "where2eat")).hasSizeGreaterThan(32);

    // what does not get in: another service account, a token for the API server's own audience,
    // and the keyset opened as another app's (copied into its Secret)
    client.resource(new io.fabric8.kubernetes.api.model.ServiceAccountBuilder().withNewMetadata().withName("intruder")
        .withNamespace(ns).endMetadata().build()).create();
    for (Path jwt : List.of(projectedToken(ns, "intruder", AUDIENCE), projectedToken(ns, pod.getServiceAccountName(),
        "https://kubernetes.default.svc.cluster.local"))) {
      assertThatThrownBy(() -> WrappedSessionKeys.open(wrappedKeyset, sidecarKek(kms, jwt), Part.KEYSET, ns, "where2eat"))
          .isInstanceOf(GeneralSecurityException.class).hasMessageContaining("refused the Kubernetes login")
          .hasMessageContaining("HTTP 403");
    }
    assertThatThrownBy(() -> WrappedSessionKeys.open(wrappedKeyset, own, Part.KEYSET, ns, "landing"))
        .isInstanceOf(GeneralSecurityException.class).hasMessageContaining("associated data");
    assertThat(vault.logins.get()).as("every login was a TokenReview").isGreaterThanOrEqualTo(3);
  }

  @Test
  void aRotationKeepsTheKeysetWrappedAndTheSaltUnchanged() throws Exception {
    String ns = "t-" + UUID.randomUUID().toString().substring(0, 8);
    TestCluster.restrictedNamespace(client, ns);
    client.resource(TestApps.where2eat(ns)).create();
    Secret before = await().atMost(Duration.ofSeconds(30)).until(
        () -> client.secrets().inNamespace(ns).withName("where2eat-session-keys").get(), s -> s != null);
    // a rotation is due when the primary is older than the period: backdate it and touch the app
    TestCluster.retryOnConflict(() -> client.secrets().inNamespace(ns).withName("where2eat-session-keys").edit(s -> {
      s.getMetadata().getAnnotations().put(io.safedefaults.microapp.auth.SessionKeyRotation.ROTATED_AT,
          Clock.systemUTC().instant().minus(Duration.ofDays(31)).toString());
      return s;
    }));
    TestCluster.retryOnConflict(() -> client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").edit(a -> {
      a.getMetadata().setLabels(Map.of("touched", "1"));
      return a;
    }));
    Secret after = await().atMost(Duration.ofSeconds(30)).until(
        () -> client.secrets().inNamespace(ns).withName("where2eat-session-keys").get(),
        s -> s.getMetadata().getAnnotations().containsKey(io.safedefaults.microapp.auth.SessionKeyRotation.RETIRED));
    assertThat(after.getData()).containsOnlyKeys(Part.KEYSET.file, Part.USER_ID_SALT.file);
    Path token = projectedToken(ns, "where2eat", AUDIENCE);
    Aead own = sidecarKek(new ObjectMapper().readTree("{\"uri\":\"" + sessionKeyUri
        + "\",\"vault\":{\"authPath\":\"kubernetes\",\"role\":\"microapp-sidecar\"}}"), token);
    KeysetHandle old = parse(WrappedSessionKeys.open(decode(before, Part.KEYSET), own, Part.KEYSET, ns, "where2eat"));
    KeysetHandle rotated = parse(WrappedSessionKeys.open(decode(after, Part.KEYSET), own, Part.KEYSET, ns, "where2eat"));
    assertThat(rotated.size()).isEqualTo(2);
    assertThat(rotated.getPrimary().getId()).isNotEqualTo(old.getPrimary().getId());
    assertThat(List.of(rotated.getAt(0).getId(), rotated.getAt(1).getId())).contains(old.getPrimary().getId());
    assertThat(WrappedSessionKeys.open(decode(after, Part.USER_ID_SALT), own, Part.USER_ID_SALT, ns, "where2eat"))
        .as("hashed user ids stay the same across a rotation")
        .isEqualTo(WrappedSessionKeys.open(decode(before, Part.USER_ID_SALT), own, Part.USER_ID_SALT, ns, "where2eat"));
  }

  static byte[] decode(Secret s, Part part) {
    return Base64.getDecoder().decode(s.getData().get(part.file));
  }

  static KeysetHandle parse(byte[] json) throws GeneralSecurityException {
    return TinkJsonProtoKeysetFormat.parseKeyset(new String(json, StandardCharsets.UTF_8), InsecureSecretKeyAccess.get());
  }
}
