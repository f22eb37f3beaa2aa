package io.safedefaults.microapp.ratelimit;

import static io.safedefaults.microapp.status.CheckResult.Item.RATE_LIMITS;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.EdgeLimits;
import io.safedefaults.microapp.policy.IngressFlavor;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;

/**
 * Checklist 4 judged from the observed Ingress annotations, or in gateway mode from the edge
 * adapter's policy (Envoy Gateway's BackendTrafficPolicy and whether Envoy Gateway accepted it).
 */
public final class RateLimitCheck {
  private RateLimitCheck() {}

  public static CheckResult check(AppPlan plan, Observed o) {
    var l = plan.limits();
    IngressFlavor flavor = plan.config().ingressFlavor();
    boolean gatewayMode = plan.config().exposure().gatewayMode();
    // Gateway mode: no edge limit unless an implementation adapter is declared (README, "Gateway API").
    boolean envoy = plan.exposed() && gatewayMode && plan.config().gatewayEdgeLimits() == EdgeLimits.ENVOY_GATEWAY;
    boolean edge = plan.exposed() && !gatewayMode && flavor == IngressFlavor.NGINX || envoy;
    boolean sidecar = plan.sidecarLimitsPerIp();
    if (envoy) {
      var gw = plan.config().exposure().gateway();
      if (!o.edgePolicyApi()) {
        return CheckResult.failed(RATE_LIMITS, "EdgePolicyApiMissing", "--gateway-edge-limits envoy-gateway asks"
            + " for per-IP limits at the edge, but the cluster did not serve Envoy Gateway's " + EnvoyGatewayPolicy.KIND
            + " (" + EnvoyGatewayPolicy.API_VERSION + ") when the operator started; install Envoy Gateway (its CRDs)"
            + " and restart the operator, or set --gateway-edge-limits none (Helm exposure.gatewayEdgeLimits)");
      }
      if (!EnvoyGatewayPolicy.present(o.edgePolicy(), plan)) {
        return CheckResult.failed(RATE_LIMITS, "EdgeLimitsPending", "the " + EnvoyGatewayPolicy.KIND + " "
            + plan.name() + io.safedefaults.microapp.kube.Names.EDGE_POLICY_SUFFIX
            + " does not (yet) carry the per-IP limit for the app's route");
      }
      var verdict = EnvoyGatewayPolicy.accepted(o.edgePolicy(), gw);
      if (verdict.isEmpty()) {
        return CheckResult.failed(RATE_LIMITS, "EdgeLimitsPending", "Envoy Gateway has not (yet) accepted the "
            + EnvoyGatewayPolicy.KIND + " " + plan.name() + io.safedefaults.microapp.kube.Names.EDGE_POLICY_SUFFIX
            + " for " + gw.describe() + " (no Accepted condition in its status.ancestors); check that Envoy Gateway"
            + " runs that Gateway");
      }
      if (!verdict.get().accepted()) {
        return CheckResult.failed(RATE_LIMITS, "EdgePolicyNotAccepted", "Envoy Gateway refused the "
            + EnvoyGatewayPolicy.KIND + " " + plan.name() + io.safedefaults.microapp.kube.Names.EDGE_POLICY_SUFFIX
            + " on " + gw.describe() + " (reason " + verdict.get().reason() + "); no per-IP limit applies at the edge."
            + " See the policy's status.ancestors for what Envoy Gateway reports");
      }
    } else if (edge && (o.ingress() == null
        || !EdgeRateLimit.present(o.ingress().getMetadata().getAnnotations(), plan, flavor))) {
      return CheckResult.failed(RATE_LIMITS, "EdgeLimitsPending",
          "the Ingress does not (yet) carry the per-IP limit annotations");
    }
    if (!edge && !sidecar) {
      if (gatewayMode) {
        return CheckResult.failed(RATE_LIMITS, "NoPerIpLimit", "no per-IP limit applies: no edge limit is written"
            + " for " + plan.config().exposure().gateway().describe() + " (--gateway-edge-limits none), and the"
            + " sidecar sees every request come from the Gateway's proxies; set --trusted-proxy-cidrs (Helm"
            + " ingress.trustedProxyCidrs) to the pod range of the Gateway's data plane, or declare the Gateway's"
            + " edge limit adapter with --gateway-edge-limits (envoy-gateway)");
      }
      return CheckResult.failed(RATE_LIMITS, "NoPerIpLimit", "no per-IP limit applies: this ingress controller"
          + " sets none, and the sidecar sees every request come from the controller's address; set"
          + " --trusted-proxy-cidrs (Helm ingress.trustedProxyCidrs) to the controller's pod range");
    }
    String where = edge && sidecar ? "at the edge and in the sidecar" : edge ? "at the edge only (the sidecar"
        + " cannot tell clients apart without --trusted-proxy-cidrs)" : "in the sidecar";
    String figures = envoy
        ? l.perIpPerMinute() + "/min per IP at the edge (Envoy Gateway " + EnvoyGatewayPolicy.KIND + ", accepted)"
            + (sidecar ? " and " + l.perIpPerMinute() + "/min per IP (burst " + l.perIpBurstPerSecond()
                + "/s) in the sidecar" : "") + ", " + l.perUserPerMinute() + "/min per user in the sidecar"
        : l.perIpPerMinute() + "/min per IP (burst " + l.perIpBurstPerSecond() + "/s) " + where + ", "
            + l.perUserPerMinute() + "/min per user in the sidecar";
    if (gatewayMode && !envoy && plan.exposed()) {
      figures += " (no edge limit: --gateway-edge-limits none)";
    }
    if (plan.relaxed().containsKey(Setting.RATE_LIMIT) && aboveMaximum(plan)) {
      return CheckResult.relaxed(RATE_LIMITS, "HigherLimitsByOverride",
          figures + ": " + plan.relaxed().get(Setting.RATE_LIMIT));
    }
    return CheckResult.passed(RATE_LIMITS, "Limited", figures);
  }

  private static boolean aboveMaximum(AppPlan plan) {
    var l = plan.limits();
    var max = plan.config().maxLimits();
    return l.perIpPerMinute() > max.perIpPerMinute() || l.perIpBurstPerSecond() > max.perIpBurstPerSecond()
        || l.perUserPerMinute() > max.perUserPerMinute();
  }
}
