package io.safedefaults.microapp.access;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeerBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import java.util.List;

/**
 * Default-deny ingress for the app's pods, admitting only the sidecar port and only from the ingress
 * controller's namespaces, or the Gateway's data-plane namespaces in gateway mode (checklist 7). The app port is never listed, so nothing reaches the app
 * around the sidecar. A justified networkPolicy override admits every namespace, still to the
 * sidecar port only. Where the platform names its Prometheus namespaces (--metrics-namespaces), a
 * second rule admits the sidecar's metrics port from them alone.
 */
public final class AppNetworkPolicy {
  private AppNetworkPolicy() {}

  /**
   * Where requests from outside arrive from: the ingress controller's namespaces, or in gateway
   * mode the namespaces of the Gateway's proxies (its data plane), never both.
   */
  static List<String> entryNamespaces(AppPlan plan) {
    var exposure = plan.config().exposure();
    return exposure.gatewayMode() ? exposure.gateway().dataPlaneNamespaces() : plan.config().ingressNamespaces();
  }

  public static NetworkPolicy desired(MicroApp app, AppPlan plan) {
    List<NetworkPolicyPeer> from = plan.networkPolicyRelaxed()
        ? List.of(new NetworkPolicyPeerBuilder().withNamespaceSelector(new LabelSelectorBuilder().build()).build())
        : namespaces(entryNamespaces(plan));
    if (plan.retention().usesToken()) {
      // The app's own purge job calls the purge path through the sidecar, from this namespace.
      from = new java.util.ArrayList<>(from);
      from.add(new NetworkPolicyPeerBuilder().withNewPodSelector()
          .addToMatchLabels(Names.PURGE_LABEL, app.getMetadata().getName()).endPodSelector().build());
    }
    var spec = new NetworkPolicyBuilder()
        .withMetadata(Names.metadata(app, app.getMetadata().getName()))
        .withNewSpec()
        .withNewPodSelector().withMatchLabels(Names.selector(app)).endPodSelector()
        .withPolicyTypes("Ingress")
        .addNewIngress()
        .withFrom(from)
        .addNewPort().withProtocol("TCP").withPort(new IntOrString(Names.SIDECAR_PORT)).endPort()
        .endIngress();
    List<String> metrics = plan.config().metricsNamespaces();
    if (!metrics.isEmpty()) {
      // Prometheus reads the sidecar's metrics on its admin port; the app port stays unlisted.
      spec = spec.addNewIngress()
          .withFrom(namespaces(metrics))
          .addNewPort().withProtocol("TCP").withPort(new IntOrString(Names.SIDECAR_ADMIN_PORT)).endPort()
          .endIngress();
    }
    return spec.endSpec().build();
  }

  /** One peer per namespace, by the name label the API server sets on every namespace. */
  static List<NetworkPolicyPeer> namespaces(List<String> names) {
    return names.stream().map(ns -> new NetworkPolicyPeerBuilder().withNewNamespaceSelector()
        .addToMatchLabels("kubernetes.io/metadata.name", ns).endNamespaceSelector().build()).toList();
  }
}
