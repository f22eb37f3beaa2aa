package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.cli.RunCommand;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.PolicyWatch;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A cluster without the Gateway API CRDs and a policy that puts a namespace in gateway mode: the
 * operator starts (it watches no routes or Gateways), the app there is not exposed at all — no
 * Ingress either — and its status says what the platform team must install; an app in a namespace
 * in ingress mode is unaffected.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class GatewayApiMissingApiServerTest {
  static KubernetesClient client;

  @Test
  void appsInGatewayModeWaitForTheGatewayApiAndSayWhatToInstall() throws Exception {
    TestCluster.installCrd(client);
    TestCluster.installCrd(client, TestFiles.POLICIES);
    for (String ns : new String[] {"microapp-system", "team-gw", "team-ing"}) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns)
          .addToLabels("pod-security.kubernetes.io/enforce", "restricted")
          .addToLabels(ns.equals("team-gw") ? Map.of("exposure", "gateway") : Map.of()).endMetadata().build())
          .serverSideApply();
    }
    MicroAppPolicy p = new MicroAppPolicy();
    p.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    p.setSpec(new MicroAppPolicySpec());
    p.getSpec().setNamespaceSelector(NamespaceSelector.labels(Map.of("exposure", "gateway")));
    p.getSpec().setExposure(new MicroAppPolicySpec.ExposureSpec());
    p.getSpec().getExposure().setMode(MicroAppPolicySpec.ExposureMode.GATEWAY);
    p.getSpec().getExposure().setGateway(new MicroAppPolicySpec.GatewayRef());
    p.getSpec().getExposure().getGateway().setName("public");
    p.getSpec().getExposure().getGateway().setNamespace("gateway-system");
    client.resource(p).create();

    boolean served = RunCommand.gatewayApi(client);
    assertThat(served).isFalse();
    var keys = new SealingKeyStore(client, "microapp-system", Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    OperatorConfig flags = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
        .defaultIssuer("https://login.example.com/realms/acme").build();
    try (PolicyWatch policies = new PolicyWatch(client, flags, java.time.Clock.systemUTC()).start()) {
      Operator operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
      operator.register(new MicroAppReconciler(policies, new HostClaims("microapp-system"),
          new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC(),
          served), o -> o.withReconciliationMaxInterval(Duration.ofSeconds(2)));
      operator.start();
      try {
        client.resource(GatewayApiServerTest.app("team-gw", "shop", "shop.apps.example.com")).create();
        client.resource(GatewayApiServerTest.app("team-ing", "menu", "menu.apps.example.com")).create();
        MicroApp shop = await().atMost(Duration.ofSeconds(30)).until(
            () -> client.resources(MicroApp.class).inNamespace("team-gw").withName("shop").get(),
            a -> a != null && a.getStatus() != null && Conditions.find(a.getStatus(), Conditions.READY)
                .map(c -> "GatewayApiMissing".equals(c.getReason())).orElse(false));
        assertThat(Conditions.find(shop.getStatus(), Conditions.TLS).orElseThrow().getMessage())
            .contains("Gateway gateway-system/public").contains("install its CRDs and restart the operator");
        await().atMost(Duration.ofSeconds(30)).until(
            () -> client.network().v1().ingresses().inNamespace("team-ing").withName("menu").get() != null);
        assertThat(client.network().v1().ingresses().inNamespace("team-gw").withName("shop").get())
            .as("no Ingress as a fallback for an app whose policy chose the Gateway").isNull();
      } finally {
        operator.stop();
      }
    }
  }
}
