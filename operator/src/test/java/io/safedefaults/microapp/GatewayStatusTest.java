package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Listener;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ListenerBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Exposure;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.secrets.SecretsCheck;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Conditions;
import io.safedefaults.microapp.status.Observed;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.tls.GatewayListeners;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Gateway mode's status, judged from what a Gateway implementation writes into the routes' status
 * and from the Gateway itself: every refusal Gateway API defines, on either route, is a condition
 * naming the Gateway and the reason and never Ready=True; a Gateway that cannot carry the app
 * safely (missing, no HTTPS listener, no certificate, a hostname that does not cover the app's)
 * keeps the app unexposed with a sentence naming the Gateway and the fix.
 */
class GatewayStatusTest {
  static final OperatorConfig CONFIG = OperatorConfig.builder().defaultIssuer("https://login.example.com/realms/acme")
      .trustedProxyCidrs(List.of("10.244.0.0/16"))
      .exposure(Exposure.gateway("--", "public", "gateway-system", "https", "http", List.of())).build();

  @Test
  void aRouteTheGatewayAcceptsMakesTheAppReady() {
    OnceApplied once = OnceApplied.of(TestApps.where2eat("team-food"), CONFIG);
    assertThat(once.isReady()).as(once.ready().getMessage()).isTrue();
    assertThat(status(once, once.observed()).getUrl()).isEqualTo("https://where2eat.apps.example.com");
  }

  @Test
  void everyRefusalOnEitherRouteNamesTheGatewayAndItsReasonAndIsNeverReady() {
    String[][] refusals = {
        {"Accepted", "NotAllowedByListeners", "does not admit routes from namespace team-food"},
        {"Accepted", "NoMatchingListenerHostname", "no listener hostname covers where2eat.apps.example.com"},
        {"Accepted", "NoMatchingParent", "no such listener"},
        {"Accepted", "UnsupportedValue", "ask your platform team"},
        {"ResolvedRefs", "RefNotPermitted", "ReferenceGrant"},
        {"ResolvedRefs", "BackendNotFound", "Service"},
        {"ResolvedRefs", "InvalidKind", "ask your platform team"},
    };
    OnceApplied once = OnceApplied.of(TestApps.where2eat("team-food"), CONFIG);
    for (boolean https : List.of(true, false)) {
      for (String[] r : refusals) {
        Observed o = refuse(once.observed(), https, r[0], r[1]);
        CheckResult tls = tls(once, o);
        String route = https ? "where2eat-https" : "where2eat-http";
        assertThat(tls.outcome()).as("%s %s", route, r[1]).isEqualTo(CheckResult.Outcome.FAILED);
        assertThat(tls.reason()).isEqualTo("RouteRefused");
        assertThat(tls.message()).contains("HTTPRoute " + route).contains("Gateway gateway-system/public")
            .contains(r[0] + "=False, reason " + r[1]).contains(r[2]);
        var ready = Conditions.find(status(once, o), Conditions.READY).orElseThrow();
        assertThat(ready.getStatus()).as("%s %s", route, r[1]).isEqualTo("False");
        assertThat(ready.getReason()).isEqualTo("RouteRefused");
      }
    }
  }

  @Test
  void noStatusAStaleOneOrOneForAnotherListenerIsPendingNotReady() {
    OnceApplied once = OnceApplied.of(TestApps.where2eat("team-food"), CONFIG);
    HTTPRoute https = once.observed().httpsRoute();
    List<HTTPRoute> variants = List.of(
        new HTTPRouteBuilder(https).withStatus(null).build(),
        // accepted, but for an older generation of the route than the one in place
        new HTTPRouteBuilder(https).editMetadata().withGeneration(3L).endMetadata().editStatus().editFirstParent()
            .withConditions(cond("Accepted", "True", "Accepted", 2L), cond("ResolvedRefs", "True", "ResolvedRefs", 2L))
            .endParent().endStatus().build(),
        // accepted on the plain HTTP listener: not the parent the HTTPS route asked for
        new HTTPRouteBuilder(https).editStatus().editFirstParent().editParentRef().withSectionName("http")
            .endParentRef().endParent().endStatus().build());
    for (HTTPRoute v : variants) {
      Observed o = once.observed().withGateway(v, once.observed().redirectRoute(), null);
      CheckResult tls = tls(once, o);
      assertThat(tls.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
      assertThat(tls.reason()).isEqualTo("RoutePending");
      assertThat(Conditions.find(status(once, o), Conditions.READY).orElseThrow().getStatus()).isEqualTo("False");
    }
    Observed gone = once.observed().withGateway(null, once.observed().redirectRoute(), null);
    assertThat(tls(once, gone).reason()).isEqualTo("RoutePending");
    assertThat(status(once, gone).getUrl()).isNull();
  }

  @Test
  void aListenerWhoseCertificateDoesNotResolveFailsTls() {
    OnceApplied once = OnceApplied.of(TestApps.where2eat("team-food"), CONFIG);
    Gateway gw = new GatewayBuilder(gateway(listeners("*.apps.example.com"))).withNewStatus().addNewListener()
        .withName("https").withAttachedRoutes(0).withConditions(cond("ResolvedRefs", "False", "InvalidCertificateRef", null))
        .endListener().endStatus().build();
    CheckResult tls = tls(once, once.observed().withGateway(once.observed().httpsRoute(),
        once.observed().redirectRoute(), gw));
    assertThat(tls.reason()).isEqualTo("GatewayCertificateNotReady");
    assertThat(tls.message()).contains("Gateway gateway-system/public listener 'https'").contains("InvalidCertificateRef");
  }

  /**
   * What Traefik 3.7 writes when it cannot serve a listener (seen on the e2e node, GatewayIT): the
   * listener's own conditions say why, and the routes on it get Accepted=False NoMatchingParent. The
   * listener's cause is what the app's status names, for either listener and whichever refusal the
   * routes carry; the routes' refusal alone would point at a listener that does exist.
   */
  @Test
  void aListenerTheImplementationCannotServeIsNamedRatherThanTheRoutesRefusal() {
    OnceApplied once = OnceApplied.of(TestApps.where2eat("team-food"), CONFIG);
    record Case(String listener, String type, String reason, String expected) {}
    List<Case> cases = List.of(
        new Case("https", "ResolvedRefs", "InvalidCertificateRef", "GatewayCertificateNotReady"),
        new Case("https", "ResolvedRefs", "RefNotPermitted", "GatewayCertificateNotReady"),
        new Case("https", "Accepted", "PortUnavailable", "GatewayListenerNotReady"),
        new Case("https", "Programmed", "Invalid", "GatewayListenerNotReady"),
        new Case("http", "Accepted", "PortUnavailable", "GatewayListenerNotReady"),
        new Case("http", "Accepted", "UnsupportedProtocol", "GatewayListenerNotReady"),
        new Case("http", "Programmed", "Invalid", "GatewayListenerNotReady"));
    for (Case c : cases) {
      Gateway gw = new GatewayBuilder(gateway(listeners("*.apps.example.com"))).editMetadata().withGeneration(2L)
          .endMetadata().withNewStatus().addNewListener().withName(c.listener()).withAttachedRoutes(0)
          .withConditions(cond(c.type(), "False", c.reason(), 2L)).endListener().endStatus().build();
      for (String routeReason : List.of("NoMatchingParent", "NotAllowedByListeners")) {
        Observed refused = refuse(once.observed(), c.listener().equals("https"), "Accepted", routeReason);
        Observed o = refused.withGateway(refused.httpsRoute(), refused.redirectRoute(), gw);
        CheckResult tls = tls(once, o);
        String what = c.listener() + " " + c.type() + "=False " + c.reason() + ", route " + routeReason;
        assertThat(tls.outcome()).as(what).isEqualTo(CheckResult.Outcome.FAILED);
        assertThat(tls.reason()).as(what).isEqualTo(c.expected());
        assertThat(tls.message()).as(what).contains("Gateway gateway-system/public listener '" + c.listener() + "'")
            .contains(c.type() + "=False, reason " + c.reason()).contains("platform team").doesNotContain("no such listener");
        var ready = Conditions.find(status(once, o), Conditions.READY).orElseThrow();
        assertThat(ready.getStatus()).as(what).isEqualTo("False");
      }
      // A condition for an older generation of the Gateway is not the listener's state now.
      Gateway stale = new GatewayBuilder(gw).editMetadata().withGeneration(3L).endMetadata().build();
      Observed o = once.observed().withGateway(once.observed().httpsRoute(), once.observed().redirectRoute(), stale);
      assertThat(tls(once, o).reason()).as("stale %s", c).isEqualTo("TLSEnforced");
    }
  }

  @Test
  void aGatewayThatCannotCarryTheAppSafelyNamesItselfAndTheFix() {
    AppPlan plan = AppPlan.resolve(TestApps.where2eat("team-food"), CONFIG);
    record Case(Gateway gateway, String reason, String says) {}
    List<Case> cases = new ArrayList<>();
    cases.add(new Case(null, "GatewayNotFound", "does not exist"));
    cases.add(new Case(gateway(List.of(http("http", null))), "GatewayHTTPSListenerMissing", "no listener 'https'"));
    cases.add(new Case(gateway(List.of(http("https", null), http("http", null))), "GatewayHTTPSListenerMissing",
        "(it is HTTP)"));
    cases.add(new Case(gateway(List.of(new ListenerBuilder(https(null)).editTls().withMode("Passthrough").endTls()
        .build(), http("http", null))), "GatewayListenerWithoutCertificate", "does not terminate TLS"));
    cases.add(new Case(gateway(List.of(new ListenerBuilder(https(null)).editTls().withCertificateRefs(List.of())
        .endTls().build(), http("http", null))), "GatewayListenerWithoutCertificate", "certificateRefs"));
    cases.add(new Case(gateway(List.of(https(null))), "GatewayHTTPListenerMissing", "no listener 'http'"));
    for (String hostname : List.of("apps.example.com", "*.other.org", "*.where2eat.apps.example.com",
        "food.apps.example.com", "*.example.org")) {
      cases.add(new Case(gateway(listeners(hostname)), "GatewayHostnameMismatch", "serves hostname " + hostname));
    }
    for (Case c : cases) {
      Optional<Problem> p = GatewayListeners.problem(plan, c.gateway());
      assertThat(p).as(c.reason()).isPresent();
      assertThat(p.get().reason()).isEqualTo(c.reason());
      assertThat(p.get().blocksExposure()).isTrue();
      assertThat(p.get().message()).contains("Gateway gateway-system/public").contains(c.says())
          .contains("platform team");
      assertThat(plan.with(p.get()).exposed()).isFalse();
    }
    for (String hostname : new String[] {null, "*.apps.example.com", "*.example.com", "where2eat.apps.example.com"}) {
      assertThat(GatewayListeners.problem(plan, gateway(listeners(hostname)))).as(hostname).isEmpty();
    }
  }

  private static CheckResult tls(OnceApplied once, Observed o) {
    return Checklist.checks(once.plan(), SidecarConfig.json(once.plan()), o,
        SecretsCheck.offline(Unsealer.inspect(once.app()), o.sealedSecret())).stream()
        .filter(c -> c.item() == CheckResult.Item.TLS_AND_HSTS).findFirst().orElseThrow();
  }

  private static io.safedefaults.microapp.api.MicroAppStatus status(OnceApplied once, Observed o) {
    MicroApp app = once.app();
    List<CheckResult> checks = Checklist.checks(once.plan(), SidecarConfig.json(once.plan()), o,
        SecretsCheck.offline(Unsealer.inspect(app), o.sealedSecret()));
    return Conditions.status(app, once.plan(), o, checks, List.of(), Optional.empty(), Instant.now());
  }

  private static Observed refuse(Observed o, boolean https, String type, String reason) {
    HTTPRoute route = https ? o.httpsRoute() : o.redirectRoute();
    String other = type.equals("Accepted") ? "ResolvedRefs" : "Accepted";
    HTTPRoute refused = new HTTPRouteBuilder(route).editStatus().editFirstParent()
        .withConditions(cond(type, "False", reason, null), cond(other, "True", other, null)).endParent().endStatus()
        .build();
    return https ? o.withGateway(refused, o.redirectRoute(), null) : o.withGateway(o.httpsRoute(), refused, null);
  }

  static io.fabric8.kubernetes.api.model.Condition cond(String type, String status, String reason, Long generation) {
    return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage("from the gateway")
        .withObservedGeneration(generation).withLastTransitionTime("2026-12-07T00:00:00Z").build();
  }

  static List<Listener> listeners(String hostname) {
    return List.of(https(hostname), http("http", hostname));
  }

  static Listener https(String hostname) {
    return new ListenerBuilder().withName("https").withProtocol("HTTPS").withPort(443).withHostname(hostname)
        .withNewTls().withMode("Terminate").addNewCertificateRef().withName("apps-wildcard").endCertificateRef()
        .endTls().build();
  }

  static Listener http(String name, String hostname) {
    return new ListenerBuilder().withName(name).withProtocol("HTTP").withPort(80).withHostname(hostname).build();
  }

  static Gateway gateway(List<Listener> listeners) {
    return new GatewayBuilder().withNewMetadata().withName("public").withNamespace("gateway-system").endMetadata()
        .withNewSpec().withGatewayClassName("eg").withListeners(listeners).endSpec().build();
  }
}
