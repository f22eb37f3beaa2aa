package io.safedefaults.microapp.access;

import static io.safedefaults.microapp.status.CheckResult.Item.LEAST_PRIVILEGE;

import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;

/** Checklist 7 judged from the observed ServiceAccount, pod template and NetworkPolicy. */
public final class LeastPrivilegeCheck {
  private LeastPrivilegeCheck() {}

  public static CheckResult check(AppPlan plan, Observed o) {
    if (o.serviceAccount() == null || !Boolean.FALSE.equals(o.serviceAccount().getAutomountServiceAccountToken())) {
      return CheckResult.failed(LEAST_PRIVILEGE, "ServiceAccountPending",
          "the app's ServiceAccount does not (yet) exist with automountServiceAccountToken: false");
    }
    PodSpec pod = o.deployment() == null ? null : o.deployment().getSpec().getTemplate().getSpec();
    if (pod == null || !Boolean.FALSE.equals(pod.getAutomountServiceAccountToken())
        || !RestrictedPodSecurity.isRestricted(pod.getSecurityContext())
        || !pod.getContainers().stream().allMatch(c -> RestrictedPodSecurity.isRestricted(c.getSecurityContext()))) {
      return CheckResult.failed(LEAST_PRIVILEGE, "PodNotRestricted",
          "the pod template does not (yet) meet Pod Security restricted with a read-only root filesystem");
    }
    String token = projectedToken(pod, plan);
    if (token != null) {
      return CheckResult.failed(LEAST_PRIVILEGE, "ServiceAccountTokenProjected", token);
    }
    if (!admitsOnlySidecar(o.networkPolicy(), plan.config().metricsNamespaces())) {
      return CheckResult.failed(LEAST_PRIVILEGE, "NetworkPolicyPending",
          "the default-deny NetworkPolicy admitting only the sidecar port does not (yet) exist");
    }
    if (plan.networkPolicyRelaxed()) {
      return CheckResult.relaxed(LEAST_PRIVILEGE, "AllNamespacesByOverride",
          "every namespace may reach the sidecar port: " + plan.relaxed().get(Setting.NETWORK_POLICY));
    }
    var r = plan.appResources();
    boolean bounded = !plan.problems(io.safedefaults.microapp.policy.Problem.Area.LEAST_PRIVILEGE).isEmpty();
    return CheckResult.passed(LEAST_PRIVILEGE, "LeastPrivilege",
        "own ServiceAccount without token, restricted pods, default-deny ingress except the sidecar port; app"
            + " container cpu " + r.cpuLimit() + ", memory " + r.memory()
            + (bounded ? " (the maximum of " + plan.config().source() + ")" : ""));
  }

  /**
   * A service-account token projected into the pod (a hand edit can add one, and server-side apply
   * keeps what another manager added) hands the app an identity. The one allowed is the operator's:
   * the session KMS's audience, mounted into the sidecar container alone.
   *
   * @return what is wrong, in one line, or null
   */
  static String projectedToken(PodSpec pod, AppPlan plan) {
    var kms = plan.config().sessionKeyKms();
    for (var v : pod.getVolumes() == null ? java.util.List.<io.fabric8.kubernetes.api.model.Volume>of() : pod.getVolumes()) {
      if (v.getProjected() == null || v.getProjected().getSources() == null) {
        continue;
      }
      for (var source : v.getProjected().getSources()) {
        var sat = source.getServiceAccountToken();
        if (sat == null) {
          continue;
        }
        java.util.List<String> mountedBy = java.util.stream.Stream.concat(pod.getContainers().stream(),
                pod.getInitContainers() == null ? java.util.stream.Stream.empty() : pod.getInitContainers().stream())
            .filter(c -> c.getVolumeMounts() != null && c.getVolumeMounts().stream().anyMatch(m -> v.getName().equals(m.getName())))
            .map(io.fabric8.kubernetes.api.model.Container::getName).toList();
        boolean theOperators = kms != null && Names.KMS_TOKEN_VOLUME.equals(v.getName())
            && kms.tokenAudience().equals(sat.getAudience()) && mountedBy.equals(java.util.List.of(Names.SIDECAR_CONTAINER));
        if (!theOperators) {
          return "a service-account token is projected into the pod (volume " + v.getName() + ", audience "
              + (sat.getAudience() == null ? "the API server's" : sat.getAudience()) + ", mounted by "
              + (mountedBy.isEmpty() ? "no container" : String.join(", ", mountedBy))
              + "); remove it: apps get no token, and only the sidecar's session-KMS token is allowed";
        }
      }
    }
    return null;
  }

  /**
   * Every rule admits only the sidecar port, or only the sidecar's metrics port and then only from
   * the platform's metrics namespaces: never the app port, never metrics to anyone else.
   */
  static boolean admitsOnlySidecar(NetworkPolicy np, java.util.List<String> metricsNamespaces) {
    if (np == null || np.getSpec() == null || np.getSpec().getPolicyTypes() == null
        || !np.getSpec().getPolicyTypes().contains("Ingress") || np.getSpec().getIngress() == null) {
      return false;
    }
    return np.getSpec().getIngress().stream().allMatch(rule -> onlyPort(rule, Names.SIDECAR_PORT)
        || onlyPort(rule, Names.SIDECAR_ADMIN_PORT) && rule.getFrom() != null && !rule.getFrom().isEmpty()
            && rule.getFrom().stream().allMatch(peer -> peer.getPodSelector() == null && peer.getIpBlock() == null
                && peer.getNamespaceSelector() != null
                && (peer.getNamespaceSelector().getMatchExpressions() == null
                    || peer.getNamespaceSelector().getMatchExpressions().isEmpty())
                && peer.getNamespaceSelector().getMatchLabels() != null
                && peer.getNamespaceSelector().getMatchLabels().size() == 1
                && metricsNamespaces.contains(peer.getNamespaceSelector().getMatchLabels()
                    .get("kubernetes.io/metadata.name"))));
  }

  private static boolean onlyPort(io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule rule,
      int port) {
    return rule.getPorts() != null && !rule.getPorts().isEmpty() && rule.getPorts().stream()
        .allMatch(p -> p.getPort() != null && Integer.valueOf(port).equals(p.getPort().getIntVal()));
  }
}
