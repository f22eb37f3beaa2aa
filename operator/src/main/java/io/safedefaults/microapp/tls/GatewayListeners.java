package io.safedefaults.microapp.tls;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Listener;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ListenerStatus;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Exposure;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import java.util.List;
import java.util.Optional;

/**
 * Whether the platform's Gateway can carry the app safely, judged before any route is written: it
 * exists, has a listener of protocol HTTPS under the configured sectionName that terminates TLS with
 * a certificate, a plain HTTP listener for the redirect, and listener hostnames that cover the
 * app's host. Otherwise the app gets no route and a condition naming the Gateway and the fix.
 */
public final class GatewayListeners {
  private GatewayListeners() {}

  /** @return the problem that keeps the app off this Gateway, if there is one */
  public static Optional<Problem> problem(AppPlan plan, Gateway gateway) {
    Exposure.Gateway gw = plan.config().exposure().gateway();
    String host = plan.host();
    String which = gw.describe() + " (from " + plan.config().source() + ")";
    if (gateway == null) {
      return blocked("GatewayNotFound", which + " does not exist; ask your platform team to create it, or to"
          + " point exposure.gateway (--gateway-name, --gateway-namespace) at the Gateway they run");
    }
    Optional<Listener> https = listener(gateway, gw.httpsListener());
    if (https.isEmpty() || !"HTTPS".equals(https.get().getProtocol())) {
      return blocked("GatewayHTTPSListenerMissing", which + " has no listener '" + gw.httpsListener()
          + "' of protocol HTTPS" + https.map(l -> " (it is " + l.getProtocol() + ")").orElse("")
          + "; ask your platform team to add one that terminates TLS, or to set --gateway-https-listener"
          + " (exposure.gateway.httpsListener) to the one it has");
    }
    var tls = https.get().getTls();
    if (tls == null || "Passthrough".equals(tls.getMode()) || tls.getCertificateRefs() == null
        || tls.getCertificateRefs().isEmpty()) {
      return blocked("GatewayListenerWithoutCertificate", which + " listener '" + gw.httpsListener()
          + "' does not terminate TLS with a certificate (tls.mode Terminate and tls.certificateRefs); ask your"
          + " platform team to give it the certificate for " + host + " (README, \"Gateway API\")");
    }
    Optional<Listener> http = listener(gateway, gw.httpListener());
    if (http.isEmpty() || !"HTTP".equals(http.get().getProtocol())) {
      return blocked("GatewayHTTPListenerMissing", which + " has no listener '" + gw.httpListener()
          + "' of protocol HTTP for the redirect to HTTPS; ask your platform team to add one, or to set"
          + " --gateway-http-listener (exposure.gateway.httpListener) to the one it has");
    }
    for (Listener l : List.of(https.get(), http.get())) {
      if (!covers(l.getHostname(), host)) {
        return blocked("GatewayHostnameMismatch", which + " listener '" + l.getName() + "' serves hostname "
            + l.getHostname() + ", which does not cover spec.host " + host + "; use a host under it, or ask your"
            + " platform team to widen the listener's hostname");
      }
    }
    return Optional.empty();
  }

  /** A listener's status condition (e.g. ResolvedRefs, Programmed), if the implementation wrote one. */
  public static Optional<Condition> listenerCondition(Gateway gateway, String listener, String type) {
    if (gateway == null || gateway.getStatus() == null || gateway.getStatus().getListeners() == null) {
      return Optional.empty();
    }
    Long generation = gateway.getMetadata().getGeneration();
    return gateway.getStatus().getListeners().stream().filter(l -> listener.equals(l.getName()))
        .map(ListenerStatus::getConditions).filter(c -> c != null).flatMap(List::stream)
        .filter(c -> type.equals(c.getType()))
        .filter(c -> c.getObservedGeneration() == null || generation == null || c.getObservedGeneration() >= generation)
        .findFirst();
  }

  /**
   * Gateway API hostname matching: no hostname matches every host; {@code *.example.com} matches
   * every host below example.com (one label or more) but not example.com itself.
   */
  public static boolean covers(String listenerHostname, String host) {
    if (listenerHostname == null || listenerHostname.isEmpty()) {
      return true;
    }
    if (listenerHostname.startsWith("*.")) {
      return host.endsWith(listenerHostname.substring(1)) && host.length() > listenerHostname.length() - 1;
    }
    return listenerHostname.equals(host);
  }

  private static Optional<Listener> listener(Gateway gateway, String name) {
    if (gateway.getSpec() == null || gateway.getSpec().getListeners() == null) {
      return Optional.empty();
    }
    return gateway.getSpec().getListeners().stream().filter(l -> name.equals(l.getName())).findFirst();
  }

  private static Optional<Problem> blocked(String reason, String message) {
    return Optional.of(new Problem(Problem.Area.TLS, reason, "spec.host is set but " + message, true));
  }

  /** The policy's Gateway for an app, or null outside gateway mode (for callers that look it up). */
  public static Exposure.Gateway of(OperatorConfig config) {
    return config.exposure().gatewayMode() ? config.exposure().gateway() : null;
  }
}
