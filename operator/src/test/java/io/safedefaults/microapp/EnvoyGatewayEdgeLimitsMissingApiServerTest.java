package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.cli.RunCommand;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.EdgeLimits;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * --gateway-edge-limits envoy-gateway on a cluster that serves the Gateway API but not Envoy
 * Gateway's BackendTrafficPolicy: the operator starts and watches no policies, the app still gets
 * its routes (the sidecar's limits apply), and RateLimited=False names what to install.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class EnvoyGatewayEdgeLimitsMissingApiServerTest {
  static KubernetesClient client;

  @Test
  void aDeclaredAdapterWithoutItsCrdIsRateLimitedFalseNamingWhatToInstall() throws Exception {
    EnvoyGatewayEdgeLimitsApiServerTest.client = client;
    TestCluster.installCrd(client);
    EnvoyGatewayEdgeLimitsApiServerTest.installCrds(Path.of("src/test/resources/gateway-api"),
        "GATEWAY_API_CRDS_VERSION", "sigs.k8s.io/gateway-api");
    for (String ns : List.of("microapp-system", GatewayApiServerTest.GATEWAY_NS)) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .serverSideApply();
    }
    client.resource(GatewayApiServerTest.gateway("public", "*.apps.example.com")).create();
    boolean served = RunCommand.edgePolicyApi(client);
    assertThat(served).isFalse();
    var keys = new SealingKeyStore(client, "microapp-system", Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    var flags = EnvoyGatewayEdgeLimitsApiServerTest.config(EdgeLimits.ENVOY_GATEWAY, List.of("10.244.0.0/16"));
    Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(new MicroAppReconciler(ns -> flags, new HostClaims("microapp-system"),
        new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC(),
        RunCommand.gatewayApi(client), served), o -> o.withReconciliationMaxInterval(Duration.ofSeconds(2)));
    operator.start();
    try {
      String ns = EnvoyGatewayEdgeLimitsApiServerTest.namespace("team-gw");
      client.resource(EnvoyGatewayEdgeLimitsApiServerTest.app(ns, "shop", "shop.apps.example.com", 200)).create();
      MicroApp shop = EnvoyGatewayEdgeLimitsApiServerTest.awaitRateLimited(ns, "shop", "EdgePolicyApiMissing");
      var rateLimited = Conditions.find(shop.getStatus(), Conditions.RATE_LIMITED).orElseThrow();
      assertThat(rateLimited.getStatus()).isEqualTo("False");
      assertThat(rateLimited.getMessage()).contains("--gateway-edge-limits envoy-gateway")
          .contains("BackendTrafficPolicy (gateway.envoyproxy.io/v1alpha1)")
          .contains("install Envoy Gateway (its CRDs) and restart the operator")
          .contains("--gateway-edge-limits none");
      await().atMost(Duration.ofSeconds(30)).until(
          () -> EnvoyGatewayEdgeLimitsApiServerTest.route(ns, "shop-https") != null
              && EnvoyGatewayEdgeLimitsApiServerTest.route(ns, "shop-http") != null);
      assertThat(client.apps().deployments().inNamespace(ns).withName("shop").get()).isNotNull();
    } finally {
      operator.stop();
    }
  }
}
