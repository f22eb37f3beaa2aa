package io.safedefaults.microapp.auth;

import static io.safedefaults.microapp.status.CheckResult.Item.MFA_FOR_ADMIN_PATHS;
import static io.safedefaults.microapp.status.CheckResult.Item.SHORT_SESSIONS;
import static io.safedefaults.microapp.status.CheckResult.Item.SIGN_IN_REQUIRED;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;
import java.util.List;

/** Checklist 1-3 judged from the observed Deployment, Service and sidecar configuration. */
public final class AuthCheck {
  private AuthCheck() {}

  /** @param sidecarConfig the plan's SidecarConfig#json, which the observed ConfigMap must hold */
  public static List<CheckResult> check(AppPlan plan, String sidecarConfig, Observed o) {
    return List.of(signIn(plan, sidecarConfig, o), mfa(plan, o), sessions(plan, o));
  }

  private static CheckResult signIn(AppPlan plan, String sidecarConfig, Observed o) {
    var blocking = plan.problems(Problem.Area.AUTH).stream().filter(Problem::blocksExposure).findFirst();
    if (blocking.isPresent()) {
      return CheckResult.failed(SIGN_IN_REQUIRED, blocking.get().reason(), blocking.get().message());
    }
    if (!sidecarRunsInPod(o)) {
      return CheckResult.failed(SIGN_IN_REQUIRED, "SidecarMissing",
          "the Deployment does not (yet) run the auth-proxy sidecar in front of the app");
    }
    if (!serviceTargetsSidecarOnly(o)) {
      return CheckResult.failed(SIGN_IN_REQUIRED, "ServiceBypassesSidecar",
          "the Service does not (yet) target only the sidecar's port " + Names.SIDECAR_PORT_NAME);
    }
    if (!configApplied(plan, sidecarConfig, o)) {
      return CheckResult.failed(SIGN_IN_REQUIRED, "SidecarConfigPending",
          "the sidecar configuration ConfigMap does not (yet) match this spec");
    }
    if (plan.visibility() == Visibility.PUBLIC) {
      return CheckResult.relaxed(SIGN_IN_REQUIRED, "PublicByOverride",
          "anyone may use the app without signing in: " + plan.relaxed().get(Setting.VISIBILITY));
    }
    return CheckResult.passed(SIGN_IN_REQUIRED, "SignInRequired", plan.visibility() == Visibility.PRIVATE
        ? "sign-in at " + plan.issuer() + " required; only allowed groups and e-mail domains get in"
        : "sign-in at " + plan.issuer() + " required");
  }

  private static CheckResult mfa(AppPlan plan, Observed o) {
    if (!plan.mfaOnAdminPaths()) {
      return CheckResult.relaxed(MFA_FOR_ADMIN_PATHS, "MfaRelaxed",
          "admin paths do not require MFA: " + plan.relaxed().get(Setting.MFA));
    }
    return CheckResult.passed(MFA_FOR_ADMIN_PATHS, "MfaOnAdminPaths", plan.adminPaths().isEmpty()
        ? "no admin paths declared; MFA would be required on any"
        : "MFA required on " + String.join(", ", plan.adminPaths()));
  }

  private static CheckResult sessions(AppPlan plan, Observed o) {
    String ttl = AppPlan.format(plan.sessionTtl());
    if (plan.sessionTtl().compareTo(plan.config().maxSessionTtl()) > 0) {
      return CheckResult.relaxed(SHORT_SESSIONS, "LongSessionsByOverride",
          "sessions last " + ttl + ": " + plan.relaxed().get(Setting.SESSION_TTL));
    }
    return CheckResult.passed(SHORT_SESSIONS, "ShortSessions",
        "sessions last " + ttl + " in HttpOnly, Secure, SameSite=Strict cookies");
  }

  static boolean sidecarRunsInPod(Observed o) {
    if (o.deployment() == null || o.deployment().getSpec() == null) {
      return false;
    }
    List<Container> containers = o.deployment().getSpec().getTemplate().getSpec().getContainers();
    return containers.stream().anyMatch(c -> Names.SIDECAR_CONTAINER.equals(c.getName())
        && c.getPorts() != null
        && c.getPorts().stream().anyMatch(p -> p.getContainerPort() == Names.SIDECAR_PORT));
  }

  static boolean serviceTargetsSidecarOnly(Observed o) {
    if (o.service() == null || o.service().getSpec() == null || o.service().getSpec().getPorts() == null
        || o.service().getSpec().getPorts().isEmpty()) {
      return false;
    }
    return o.service().getSpec().getPorts().stream().allMatch(AuthCheck::targetsSidecar);
  }

  private static boolean targetsSidecar(ServicePort p) {
    var t = p.getTargetPort();
    return t != null && (Names.SIDECAR_PORT_NAME.equals(t.getStrVal())
        || Integer.valueOf(Names.SIDECAR_PORT).equals(t.getIntVal()));
  }

  private static boolean configApplied(AppPlan plan, String sidecarConfig, Observed o) {
    return o.sidecarConfig() != null && o.sidecarConfig().getData() != null
        && sidecarConfig.equals(o.sidecarConfig().getData().get(SidecarConfig.FILE))
        && java.util.Objects.equals(plan.oidcCaBundle(), o.sidecarConfig().getData().get(SidecarConfig.OIDC_CA_FILE));
  }
}
