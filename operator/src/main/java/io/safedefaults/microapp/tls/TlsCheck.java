package io.safedefaults.microapp.tls;

import static io.safedefaults.microapp.status.CheckResult.Item.TLS_AND_HSTS;

import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;

/** Checklist 5 judged from the observed Ingress. */
public final class TlsCheck {
  private TlsCheck() {}

  public static CheckResult check(AppPlan plan, Observed o) {
    if (plan.host() == null) {
      return CheckResult.passed(TLS_AND_HSTS, "NotExposed",
          "no spec.host: the app has no Ingress and is reachable only inside the cluster");
    }
    if (!plan.exposed()) {
      Problem p = plan.problems().stream().filter(Problem::blocksExposure).findFirst().orElseThrow();
      return CheckResult.failed(TLS_AND_HSTS, "NotExposed", "no Ingress until this is fixed: " + p.message());
    }
    if (!IngressTlsDefault.enforces(o.ingress(), plan)) {
      return CheckResult.failed(TLS_AND_HSTS, "IngressPending",
          "the Ingress does not (yet) enforce TLS with a certificate from " + plan.config().clusterIssuer());
    }
    return CheckResult.passed(TLS_AND_HSTS, "TLSEnforced", "https://" + plan.host()
        + " with a certificate from " + plan.config().clusterIssuer() + ", HTTP redirected, HSTS from the sidecar");
  }
}
