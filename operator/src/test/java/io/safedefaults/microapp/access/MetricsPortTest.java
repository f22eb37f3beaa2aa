package io.safedefaults.microapp.access;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeerBuilder;
import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import java.time.Instant;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The sidecars' metrics reach the platform's Prometheus and no one else: the NetworkPolicy admits the
 * metrics port only from --metrics-namespaces, and checklist 7 refuses any rule that admits more.
 */
class MetricsPortTest {
  static final MicroApp APP = TestApps.where2eat("team-a");

  static AppPlan plan(List<String> metrics) {
    return AppPlan.resolve(APP, OperatorConfig.builder().clusterIssuer("letsencrypt").metricsNamespaces(metrics)
        .build(), Instant.parse("2026-12-01T10:00:00Z"));
  }

  @Test
  void withoutMetricsNamespacesOnlyTheSidecarPortIsAdmitted() {
    NetworkPolicy np = AppNetworkPolicy.desired(APP, plan(List.of()));
    assertThat(np.getSpec().getIngress()).singleElement()
        .satisfies(r -> assertThat(r.getPorts()).singleElement()
            .satisfies(p -> assertThat(p.getPort().getIntVal()).isEqualTo(Names.SIDECAR_PORT)));
    assertThat(LeastPrivilegeCheck.admitsOnlySidecar(np, List.of())).isTrue();
  }

  @Test
  void theMetricsPortIsAdmittedFromExactlyTheNamedNamespaces() {
    for (List<String> metrics : List.of(List.of("monitoring"), List.of("monitoring", "observability"))) {
      NetworkPolicy np = AppNetworkPolicy.desired(APP, plan(metrics));
      assertThat(np.getSpec().getIngress()).hasSize(2);
      var rule = np.getSpec().getIngress().get(1);
      assertThat(rule.getPorts()).singleElement()
          .satisfies(p -> assertThat(p.getPort().getIntVal()).isEqualTo(Names.SIDECAR_ADMIN_PORT));
      assertThat(rule.getFrom()).extracting(f -> f.getNamespaceSelector().getMatchLabels()
          .get("kubernetes.io/metadata.name")).containsExactlyElementsOf(metrics);
      assertThat(LeastPrivilegeCheck.admitsOnlySidecar(np, metrics)).isTrue();
      assertThat(LeastPrivilegeCheck.admitsOnlySidecar(np, List.of()))
          .as("the same rule without the flag is more than the platform allowed").isFalse();
    }
  }

  /** Each way a hand-edited metrics rule could admit more than the platform's Prometheus. */
  @Test
  void everyWiderMetricsRuleFailsTheChecklist() {
    List<String> metrics = List.of("monitoring");
    NetworkPolicy good = AppNetworkPolicy.desired(APP, plan(metrics));
    List<UnaryOperator<NetworkPolicyBuilder>> wider = List.of(
        b -> b.editSpec().editIngress(1).addToFrom(new NetworkPolicyPeerBuilder().withNewNamespaceSelector()
            .addToMatchLabels("kubernetes.io/metadata.name", "team-b").endNamespaceSelector().build()).endIngress()
            .endSpec(),
        b -> b.editSpec().editIngress(1).withFrom(new NetworkPolicyPeerBuilder().withNewNamespaceSelector()
            .endNamespaceSelector().build()).endIngress().endSpec(),
        b -> b.editSpec().editIngress(1).withFrom(List.of()).endIngress().endSpec(),
        b -> b.editSpec().editIngress(1).editFirstFrom().withNewPodSelector().endPodSelector().endFrom().endIngress()
            .endSpec(),
        b -> b.editSpec().editIngress(1).editFirstFrom().withNewIpBlock().withCidr("0.0.0.0/0").endIpBlock()
            .endFrom().endIngress().endSpec(),
        b -> b.editSpec().editIngress(1).editFirstFrom().editNamespaceSelector()
            .addToMatchLabels("team", "a").endNamespaceSelector().endFrom().endIngress().endSpec(),
        b -> b.editSpec().editIngress(1).addNewPort().withProtocol("TCP").withPort(new IntOrString(8080)).endPort()
            .endIngress().endSpec(),
        b -> b.editSpec().editIngress(1).withPorts(List.of()).endIngress().endSpec());
    for (int i = 0; i < wider.size(); i++) {
      NetworkPolicy np = wider.get(i).apply(new NetworkPolicyBuilder(good)).build();
      assertThat(LeastPrivilegeCheck.admitsOnlySidecar(np, metrics)).as("variant %d", i).isFalse();
    }
  }
}
