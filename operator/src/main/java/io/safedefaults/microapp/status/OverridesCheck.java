package io.safedefaults.microapp.status;

import static io.safedefaults.microapp.status.CheckResult.Item.SAFE_OVERRIDES;

import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Problem;

/** Checklist 10: every relaxation is justified and allowed by the cluster policy. */
public final class OverridesCheck {
  private OverridesCheck() {}

  public static CheckResult check(AppPlan plan) {
    var refused = plan.problems(Problem.Area.OVERRIDES);
    if (!refused.isEmpty()) {
      return CheckResult.failed(SAFE_OVERRIDES, refused.get(0).reason(), refused.get(0).message());
    }
    return CheckResult.passed(SAFE_OVERRIDES, "OverridesJustified", plan.relaxed().isEmpty()
        ? "no defaults relaxed"
        : "every relaxed default is justified and allowed by the cluster policy");
  }
}
