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
    String figures = l.perIpPerMinute() + "/min per IP (burst " + l.perIpBurstPerSecond() + "/s), "
        + l.perUserPerMinute() + "/min per user";
    IngressFlavor flavor = plan.config().ingressFlavor();
    if (plan.exposed() && flavor == IngressFlavor.NGINX
        && (o.ingress() == null || !EdgeRateLimit.present(o.ingress().getMetadata().getAnnotations(), plan, flavor))) {
      return CheckResult.failed(RATE_LIMITS, "EdgeLimitsPending",
          "the Ingress does not (yet) carry the per-IP limit annotations");
    }
    String where = plan.exposed() && flavor == IngressFlavor.NGINX
        ? "at the edge and in the sidecar" : "in the sidecar";
    if (plan.relaxed().containsKey(Setting.RATE_LIMIT) && aboveMaximum(plan)) {
      return CheckResult.relaxed(RATE_LIMITS, "HigherLimitsByOverride",
          figures + " " + where + ": " + plan.relaxed().get(Setting.RATE_LIMIT));
    }
    return CheckResult.passed(RATE_LIMITS, "Limited", figures + " " + where);
  }

  private static boolean aboveMaximum(AppPlan plan) {
    var l = plan.limits();
    var max = plan.config().maxLimits();
    return l.perIpPerMinute() > max.perIpPerMinute() || l.perIpBurstPerSecond() > max.perIpBurstPerSecond()
        || l.perUserPerMinute() > max.perUserPerMinute();
  }
}
