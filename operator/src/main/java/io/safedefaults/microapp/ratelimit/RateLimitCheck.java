package io.safedefaults.microapp.ratelimit;

import static io.safedefaults.microapp.status.CheckResult.Item.RATE_LIMITS;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.IngressFlavor;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;

/** Checklist 4 judged from the observed Ingress annotations. */
public final class RateLimitCheck {
  private RateLimitCheck() {}

  public static CheckResult check(AppPlan plan, Observed o) {
    var l = plan.limits();
    IngressFlavor flavor = plan.config().ingressFlavor();
    // Gateway mode: no edge limit unless an implementation adapter writes one (README, "Gateway API").
    boolean edge = plan.exposed() && !plan.config().exposure().gatewayMode() && flavor == IngressFlavor.NGINX;
    boolean sidecar = plan.sidecarLimitsPerIp();
    if (edge && (o.ingress() == null || !EdgeRateLimit.present(o.ingress().getMetadata().getAnnotations(), plan, flavor))) {
      return CheckResult.failed(RATE_LIMITS, "EdgeLimitsPending",
          "the Ingress does not (yet) carry the per-IP limit annotations");
    }
    if (!edge && !sidecar) {
      if (plan.config().exposure().gatewayMode()) {
        return CheckResult.failed(RATE_LIMITS, "NoPerIpLimit", "no per-IP limit applies: no edge limit is written"
            + " for " + plan.config().exposure().gateway().describe() + ", and the sidecar sees every request come"
            + " from the Gateway's proxies; set --trusted-proxy-cidrs (Helm ingress.trustedProxyCidrs) to the pod"
            + " range of the Gateway's data plane");
      }
      return CheckResult.failed(RATE_LIMITS, "NoPerIpLimit", "no per-IP limit applies: this ingress controller"
          + " sets none, and the sidecar sees every request come from the controller's address; set"
          + " --trusted-proxy-cidrs (Helm ingress.trustedProxyCidrs) to the controller's pod range");
    }
    String where = edge && sidecar ? "at the edge and in the sidecar" : edge ? "at the edge only (the sidecar"
        + " cannot tell clients apart without --trusted-proxy-cidrs)" : "in the sidecar";
    String figures = l.perIpPerMinute() + "/min per IP (burst " + l.perIpBurstPerSecond() + "/s) " + where + ", "
        + l.perUserPerMinute() + "/min per user in the sidecar";
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
