package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kube.ContentHash;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * --oidc-ca-file against a real kube-apiserver: an app whose sidecar gets the provider's CA
 * converges and then makes no API writes on resync, and an operator restarted with another bundle,
 * or none, rewrites the ConfigMap and rolls the pod template, ending exactly where an operator that
 * never had a bundle would be. Its own API server, because the operator's flags differ from
 * MicroAppReconcilerApiServerTest's.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class OidcCaApiServerTest {
  static KubernetesClient client;
  static SealingKeyStore keys;
  static final String NS = "team-food";
  static final Set<String> MANAGED = Set.of("serviceaccounts", "configmaps", "secrets", "deployments", "services",
      "ingresses", "networkpolicies", "microapps", "events");
  Operator operator;

  @BeforeAll
  static void crdAndNamespaces() throws Exception {
    TestCluster.installCrd(client);
    for (String ns : new String[] {"microapp-system", NS}) {
      TestCluster.restrictedNamespace(client, ns);
    }
    keys = new SealingKeyStore(client, "microapp-system", Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
  }

  @AfterEach
  void stopOperator() {
    if (operator != null) {
      operator.stop();
    }
  }

  static OperatorConfig policy(String caBundle) {
    return OperatorConfig.builder().clusterIssuer("letsencrypt-test").defaultIssuer("https://login.example.com/realms/acme")
        .oidcCaBundle(caBundle).build();
  }

  /** The operator as `run` starts it: the bundle read once, into the config. */
  void startOperator(OperatorConfig config) {
    if (operator != null) {
      operator.stop();
    }
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(new MicroAppReconciler(config, new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor),
        o -> o.withReconciliationMaxInterval(Duration.ofSeconds(2)));
    operator.start();
  }

  static ConfigMap sidecarConfig() {
    return client.configMaps().inNamespace(NS).withName("where2eat-auth-proxy").get();
  }

  static String podConfigHash() {
    Deployment d = client.apps().deployments().inNamespace(NS).withName("where2eat").get();
    return d == null ? null : d.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.CONFIG_HASH_ANNOTATION);
  }

  @Test
  void theBundleConvergesQuietlyAndAChangedOrRemovedBundleRollsThePods() throws Exception {
    String first = Files.readString(Path.of("src/test/resources/oidc-ca/acme-test-root-ca.pem"));
    String second = first + Files.readString(Path.of("src/test/resources/oidc-ca/acme-second-root-ca.pem"));
    MicroApp app = TestApps.where2eat(NS);
    String hashWith = SidecarConfig.contentHash(AppPlan.resolve(app, policy(first)));
    String hashWithBoth = SidecarConfig.contentHash(AppPlan.resolve(app, policy(second)));
    String hashWithout = SidecarConfig.contentHash(AppPlan.resolve(app, policy(null)));

    startOperator(policy(first));
    client.resource(app).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> hashWith.equals(podConfigHash()));
    assertThat(sidecarConfig().getData()).containsEntry(SidecarConfig.OIDC_CA_FILE, first);
    assertThat(sidecarConfig().getData().get(SidecarConfig.FILE)).contains("\"caFile\" : \"/etc/microapp-sidecar/oidc-ca.pem\"");
    markAvailable();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      MicroApp a = client.resources(MicroApp.class).inNamespace(NS).withName("where2eat").get();
      return a.getStatus() != null && Conditions.find(a.getStatus(), Conditions.READY)
          .map(c -> "True".equals(c.getStatus())).orElse(false);
    });
    Thread.sleep(3000); // the last status patch and its watch event settle
    long before = ApiServerRequests.writes(client, MANAGED);
    Thread.sleep(8000); // four resyncs at the 2 s interval
    assertThat(ApiServerRequests.writes(client, MANAGED) - before)
        .as("API writes during resyncs of a converged app with a provider CA").isZero();

    // the platform adds a second CA and restarts the operator (the chart's checksum does that)
    startOperator(policy(second));
    await().atMost(Duration.ofSeconds(30)).until(() -> hashWithBoth.equals(podConfigHash()));
    assertThat(sidecarConfig().getData()).containsEntry(SidecarConfig.OIDC_CA_FILE, second);

    // and removes the bundle again: the key goes, and the pods are what they would have been without it
    startOperator(policy(null));
    await().atMost(Duration.ofSeconds(30)).until(() -> hashWithout.equals(podConfigHash()));
    assertThat(sidecarConfig().getData()).containsOnlyKeys(SidecarConfig.FILE);
    assertThat(sidecarConfig().getData().get(SidecarConfig.FILE)).doesNotContain("caFile");
    assertThat(hashWithout).isEqualTo(ContentHash.of(SidecarConfig.json(AppPlan.resolve(app, policy(null)))));
  }

  /** Plays the deployment controller's part: reports one available replica. */
  static void markAvailable() {
    Deployment d = client.apps().deployments().inNamespace(NS).withName("where2eat").get();
    d.setStatus(new DeploymentStatusBuilder().withReplicas(1).withReadyReplicas(1).withAvailableReplicas(1)
        .withUpdatedReplicas(1).withObservedGeneration(d.getMetadata().getGeneration()).build());
    client.apps().deployments().inNamespace(NS).resource(d).updateStatus();
  }
}
