package io.safedefaults.microapp.tls;

import static io.safedefaults.microapp.status.CheckResult.Item.TLS_AND_HSTS;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Exposure;
import java.util.List;
import java.util.Optional;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;

/** Checklist 5 judged from the observed Ingress, or in gateway mode from the routes' status the Gateway wrote. */
public final class TlsCheck {
  private TlsCheck() {}

  public static CheckResult check(AppPlan plan, Observed o) {
    if (plan.host() == null) {
      return CheckResult.passed(TLS_AND_HSTS, "NotExposed",
          "no spec.host: the app has no Ingress and is reachable only inside the cluster");
    }
    if (!plan.exposed()) {
      Problem p = plan.problems().stream().filter(Problem::blocksExposure).findFirst().orElseThrow();
      return CheckResult.failed(TLS_AND_HSTS, "NotExposed", (plan.config().exposure().gatewayMode()
          ? "no HTTPRoute" : "no Ingress") + " until this is fixed: " + p.message());
    }
    if (plan.config().exposure().gatewayMode()) {
      return gateway(plan, o);
    }
    if (!IngressTlsDefault.enforces(o.ingress(), plan)) {
      return CheckResult.failed(TLS_AND_HSTS, "IngressPending",
          "the Ingress does not (yet) enforce TLS with a certificate from " + plan.config().clusterIssuer());
    }
    return CheckResult.passed(TLS_AND_HSTS, "TLSEnforced", "https://" + plan.host()
        + " with a certificate from " + plan.config().clusterIssuer() + ", HTTP redirected, HSTS from the sidecar");
  }

  /**
   * Gateway mode: both routes in place as built, each accepted by the Gateway on its listener with
   * its references resolved, and the HTTPS listener's certificate resolved. A route the Gateway
   * refuses is a failure naming the Gateway and its reason, never a pass.
   */
  static CheckResult gateway(AppPlan plan, Observed o) {
    Exposure.Gateway gw = plan.config().exposure().gateway();
    if (o.httpsRoute() == null || o.redirectRoute() == null) {
      return CheckResult.failed(TLS_AND_HSTS, "RoutePending", "the HTTPRoutes on " + gw.describe()
          + " are not (yet) in place");
    }
    // The listeners before the routes: an implementation skips a listener it cannot serve, and then
    // reports the routes on it as refused for a reason that hides the cause (Traefik 3.7: a listener
    // whose certificate does not resolve is left out, its routes get Accepted=False NoMatchingParent).
    Optional<Condition> cert = GatewayListeners.listenerCondition(o.gateway(), gw.httpsListener(), "ResolvedRefs");
    if (cert.isPresent() && "False".equals(cert.get().getStatus())) {
      return CheckResult.failed(TLS_AND_HSTS, "GatewayCertificateNotReady", gw.describe() + " listener '"
          + gw.httpsListener() + "' cannot use its certificate (ResolvedRefs=False, reason " + cert.get().getReason()
          + "); ask your platform team to fix the listener's certificate");
    }
    for (String listener : List.of(gw.httpsListener(), gw.httpListener())) {
      for (String type : List.of("Accepted", "Programmed")) {
        Optional<Condition> c = GatewayListeners.listenerCondition(o.gateway(), listener, type);
        if (c.isPresent() && "False".equals(c.get().getStatus())) {
          return CheckResult.failed(TLS_AND_HSTS, "GatewayListenerNotReady", gw.describe() + " listener '" + listener
              + "' is not served by the Gateway's implementation (" + type + "=False, reason " + c.get().getReason()
              + "); ask your platform team to fix the listener (e.g. a port the implementation listens on)");
        }
      }
    }
    for (HTTPRoute route : List.of(o.httpsRoute(), o.redirectRoute())) {
      String section = route == o.httpsRoute() ? gw.httpsListener() : gw.httpListener();
      String which = "HTTPRoute " + route.getMetadata().getName() + " on " + gw.describe() + " listener '" + section + "'";
      Optional<RouteParentStatus> parent = GatewayRoutes.parentStatus(route, gw, section);
      if (parent.isEmpty()) {
        return CheckResult.failed(TLS_AND_HSTS, "RoutePending", which + " has no status from the Gateway's"
            + " controller yet; if this lasts, ask your platform team whether the Gateway's implementation runs");
      }
      for (String type : List.of("Accepted", "ResolvedRefs")) {
        Optional<Condition> c = GatewayRoutes.condition(route, parent.get(), type);
        if (c.isPresent() && "False".equals(c.get().getStatus())) {
          return CheckResult.failed(TLS_AND_HSTS, "RouteRefused", which + " is refused (" + type + "=False, reason "
              + c.get().getReason() + ")" + fix(c.get().getReason(), plan));
        }
        if (c.isEmpty() || !"True".equals(c.get().getStatus())) {
          return CheckResult.failed(TLS_AND_HSTS, "RoutePending", which + " is not " + (type.equals("Accepted")
              ? "accepted" : "resolved") + " by the Gateway yet");
        }
      }
    }
    return CheckResult.passed(TLS_AND_HSTS, "TLSEnforced", "https://" + plan.host() + " through " + gw.describe()
        + " (listener '" + gw.httpsListener() + "', its certificate), HTTP redirected with 301, HSTS at the edge"
        + " and from the sidecar");
  }

  /** What to do about a refusal, for the reasons Gateway API defines; none for others. */
  private static String fix(String reason, AppPlan plan) {
    String r = reason == null ? "" : reason;
    return switch (r) {
      case "NotAllowedByListeners" -> "; the listener does not admit routes from namespace " + plan.namespace()
          + " (allowedRoutes): ask your platform team to admit it";
      case "NoMatchingListenerHostname" -> "; no listener hostname covers " + plan.host()
          + ": use a host under the listener's, or ask your platform team to widen it";
      case "NoMatchingParent" -> "; the Gateway has no such listener: ask your platform team";
      case "RefNotPermitted" -> "; a ReferenceGrant is missing for a reference across namespaces: ask your"
          + " platform team";
      case "BackendNotFound" -> "; the app's Service is missing, the operator recreates it";
      default -> "; ask your platform team what the Gateway reports";
    };
  }
}
