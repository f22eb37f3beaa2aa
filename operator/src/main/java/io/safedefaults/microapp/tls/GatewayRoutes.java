package io.safedefaults.microapp.tls;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteFilterBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReferenceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Exposure;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Gateway mode's way in from outside (checklist 5): an HTTPRoute for the app's host on the platform
 * Gateway's HTTPS listener, to the app's Service (whose only port is the sidecar's), with HSTS added
 * at the edge too; and one on the plain HTTP listener that does nothing but redirect to HTTPS with
 * 301. Built from the plan's validated host and the policy's Gateway only: nothing of the MicroApp is
 * copied into a filter, header or annotation. The certificate is the listener's (README, "Gateway API").
 */
public final class GatewayRoutes {
  public static final String GROUP = "gateway.networking.k8s.io";
  public static final String HSTS_HEADER = "Strict-Transport-Security";

  private GatewayRoutes() {}

  /** The route on the HTTPS listener: the host, to the app's Service on the sidecar's port, HSTS at the edge. */
  public static HTTPRoute https(MicroApp app, AppPlan plan) {
    Exposure.Gateway gw = plan.config().exposure().gateway();
    return new HTTPRouteBuilder()
        .withMetadata(Names.metadata(app, Names.httpsRoute(app)))
        .withNewSpec()
        .withParentRefs(parentRef(gw, gw.httpsListener()))
        .withHostnames(plan.host())
        .addNewRule()
        .addNewMatch().withNewPath().withType("PathPrefix").withValue("/").endPath().endMatch()
        .withFilters(hsts())
        .addNewBackendRef()
        .withGroup("").withKind("Service").withName(app.getMetadata().getName()).withPort(Names.SERVICE_PORT)
        .withWeight(1)
        .endBackendRef()
        .endRule()
        .endSpec()
        .build();
  }

  /** The route on the plain HTTP listener: every request answered with a 301 to https, nothing served. */
  public static HTTPRoute redirect(MicroApp app, AppPlan plan) {
    Exposure.Gateway gw = plan.config().exposure().gateway();
    return new HTTPRouteBuilder()
        .withMetadata(Names.metadata(app, Names.redirectRoute(app)))
        .withNewSpec()
        .withParentRefs(parentRef(gw, gw.httpListener()))
        .withHostnames(plan.host())
        .addNewRule()
        .addNewMatch().withNewPath().withType("PathPrefix").withValue("/").endPath().endMatch()
        .withFilters(new HTTPRouteFilterBuilder().withType("RequestRedirect")
            .withNewRequestRedirect().withScheme("https").withStatusCode(301).endRequestRedirect().build())
        .endRule()
        .endSpec()
        .build();
  }

  /** The same HSTS value the sidecar sends (SidecarConfig#HSTS): one source for both. */
  static HTTPRouteFilter hsts() {
    return new HTTPRouteFilterBuilder().withType("ResponseHeaderModifier")
        .withNewResponseHeaderModifier().addNewSet().withName(HSTS_HEADER).withValue(SidecarConfig.HSTS).endSet()
        .endResponseHeaderModifier().build();
  }

  static ParentReference parentRef(Exposure.Gateway gw, String sectionName) {
    return new ParentReferenceBuilder().withGroup(GROUP).withKind("Gateway").withName(gw.name())
        .withNamespace(gw.namespace()).withSectionName(sectionName).build();
  }

  /**
   * What the Gateway said about one of the app's routes on the listener it attaches to: the route's
   * status entry for our parentRef, if the implementation wrote one.
   */
  public static Optional<RouteParentStatus> parentStatus(HTTPRoute observed, Exposure.Gateway gw, String sectionName) {
    if (observed == null || observed.getStatus() == null || observed.getStatus().getParents() == null) {
      return Optional.empty();
    }
    return observed.getStatus().getParents().stream()
        .filter(p -> p.getParentRef() != null && gw.name().equals(p.getParentRef().getName())
            && gw.namespace().equals(Optional.ofNullable(p.getParentRef().getNamespace())
                .orElse(observed.getMetadata().getNamespace()))
            && Objects.equals(sectionName, p.getParentRef().getSectionName()))
        .findFirst();
  }

  /** A condition of a route's parent status, e.g. Accepted or ResolvedRefs, at the route's generation. */
  public static Optional<Condition> condition(HTTPRoute observed, RouteParentStatus parent, String type) {
    List<Condition> conditions = parent.getConditions() == null ? List.of() : parent.getConditions();
    Long generation = observed.getMetadata().getGeneration();
    return conditions.stream().filter(c -> type.equals(c.getType()))
        .filter(c -> c.getObservedGeneration() == null || generation == null || c.getObservedGeneration() >= generation)
        .findFirst();
  }

  /** Whether an observed route still carries what makes it safe: our parent, the host and its filter. */
  public static boolean matches(HTTPRoute observed, HTTPRoute desired) {
    if (observed == null || observed.getSpec() == null) {
      return false;
    }
    var o = observed.getSpec();
    var d = desired.getSpec();
    return Objects.equals(o.getHostnames(), d.getHostnames())
        && o.getParentRefs() != null && o.getParentRefs().size() == 1
        && sameParent(o.getParentRefs().get(0), d.getParentRefs().get(0))
        && o.getRules() != null && o.getRules().size() == 1
        && Objects.equals(o.getRules().get(0).getFilters(), d.getRules().get(0).getFilters())
        && Objects.equals(o.getRules().get(0).getBackendRefs(), d.getRules().get(0).getBackendRefs());
  }

  private static boolean sameParent(ParentReference o, ParentReference d) {
    return Objects.equals(o.getName(), d.getName()) && Objects.equals(o.getNamespace(), d.getNamespace())
        && Objects.equals(o.getSectionName(), d.getSectionName())
        && Objects.equals(Optional.ofNullable(o.getKind()).orElse("Gateway"), d.getKind());
  }
}
