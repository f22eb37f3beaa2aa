package io.safedefaults.microapp;

import io.safedefaults.microapp.access.LeastPrivilegeCheck;
import io.safedefaults.microapp.auth.AuthCheck;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.ratelimit.RateLimitCheck;
import io.safedefaults.microapp.retention.RetentionCheck;
import io.safedefaults.microapp.scan.ImageScanGate;
import io.safedefaults.microapp.secrets.SecretsCheck;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;
import io.safedefaults.microapp.status.OverridesCheck;
import io.safedefaults.microapp.tls.TlsCheck;
import java.util.ArrayList;
import java.util.List;

/**
 * The checklist an app reports, in checklist order, judged from what was observed. One function for
 * the operator (children read from its caches) and for {@code microapp-operator check} (children
 * rendered offline), so the CLI cannot tell an app author something the operator would not.
 */
public final class Checklist {
  private Checklist() {}

  /**
   * The operator's checklist: sealed values judged by opening them with the cluster's keys.
   *
   * @param sidecarConfig the plan's SidecarConfig#json, written once a reconcile
   */
  public static List<CheckResult> checks(AppPlan plan, String sidecarConfig, Observed observed,
      Unsealer.Unsealed unsealed) {
    return checks(plan, sidecarConfig, observed, SecretsCheck.check(unsealed, observed.sealedSecret()));
  }

  /**
   * @param secrets checklist 6, judged by whoever can: the operator opens the values, the offline
   *     check can only tell whether they are well-formed (SecretsCheck#offline)
   */
  public static List<CheckResult> checks(AppPlan plan, String sidecarConfig, Observed observed, CheckResult secrets) {
    List<CheckResult> checks = new ArrayList<>(AuthCheck.check(plan, sidecarConfig, observed));
    checks.add(RateLimitCheck.check(plan, observed));
    checks.add(TlsCheck.check(plan, observed));
    checks.add(secrets);
    checks.add(LeastPrivilegeCheck.check(plan, observed));
    checks.add(RetentionCheck.check(plan, observed));
    checks.add(OverridesCheck.check(plan));
    checks.add(ImageScanGate.check(plan, observed.imageScan()));
    // A policy in audit mode let these through: the item they belong to fails, nothing is blocked.
    for (Problem p : plan.problems()) {
      CheckResult.Item item = auditedItem(p);
      if (p.audited() && item != null) {
        checks.replaceAll(c -> c.item() == item && c.outcome() != CheckResult.Outcome.FAILED
            ? CheckResult.failed(item, p.reason(), p.message()) : c);
      }
    }
    return checks;
  }

  /** The checklist item an audited violation belongs to (a host outside the domains: TLS, exposure). */
  private static CheckResult.Item auditedItem(Problem p) {
    return switch (p.area()) {
      case AUTH -> "SessionTTLTooLong".equals(p.reason()) ? CheckResult.Item.SHORT_SESSIONS
          : CheckResult.Item.SIGN_IN_REQUIRED;
      case RATE_LIMIT -> CheckResult.Item.RATE_LIMITS;
      case LEAST_PRIVILEGE -> CheckResult.Item.LEAST_PRIVILEGE;
      case RETENTION -> CheckResult.Item.MINIMAL_RETENTION;
      case OVERRIDES -> CheckResult.Item.SAFE_OVERRIDES;
      case HOST -> CheckResult.Item.TLS_AND_HSTS;
      case IMAGE_SCAN -> CheckResult.Item.IMAGE_SCANNED;
      default -> null;
    };
  }
}
