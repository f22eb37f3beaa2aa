package io.safedefaults.microapp.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.RateLimitSpec;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.EdgeLimits;
import io.safedefaults.microapp.policy.Exposure;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.Observed;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The BackendTrafficPolicy builder, its comparison and what RateLimited makes of the policy Envoy
 * Gateway reports on, over generated limits and generated drifts (the API-server round trip is
 * EnvoyGatewayEdgeLimitsApiServerTest).
 */
class EnvoyGatewayPolicyTest {
  static final Exposure GATEWAY = Exposure.gateway("--", "public", "gateway-system", "https", "http", List.of());

  static OperatorConfig config(EdgeLimits edge) {
    return OperatorConfig.builder().clusterIssuer("letsencrypt").defaultIssuer("https://login.example.com/realms/acme")
        .exposure(GATEWAY).gatewayEdgeLimits(edge).build();
  }

  static MicroApp app(int perIp) {
    MicroApp app = TestApps.where2eat("team-a");
    app.getSpec().setHost("where2eat.apps.example.com");
    RateLimitSpec limits = new RateLimitSpec();
    limits.setPerIP(new RateLimitSpec.PerIp());
    limits.getPerIP().setRequestsPerMinute(perIp);
    app.getSpec().setRateLimit(limits);
    return app;
  }

  /** As the API server hands it back: JSON, numbers as Integers, the CRD's default invert: false added. */
  static GenericKubernetesResource roundTrip(GenericKubernetesResource r) {
    String json = Serialization.asJson(r).replace("\"type\":\"Distinct\"", "\"type\":\"Distinct\",\"invert\":false");
    return Serialization.unmarshal(json, GenericKubernetesResource.class);
  }

  @Test
  void thePolicyCarriesThePlansPerIpFigureForEveryClientAddressOnTheAppsHttpsRouteOnly() {
    for (int perIp : new int[] {1, 7, 60, 100, 999, 1000}) {
      MicroApp app = app(perIp);
      AppPlan plan = AppPlan.resolve(app, config(EdgeLimits.ENVOY_GATEWAY));
      GenericKubernetesResource p = EnvoyGatewayPolicy.desired(app, plan);
      assertThat(p.getApiVersion()).isEqualTo("gateway.envoyproxy.io/v1alpha1");
      assertThat(p.getMetadata().getName()).isEqualTo("where2eat-edge");
      String json = Serialization.asJson(p);
      assertThat(json).contains("\"targetRefs\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\","
          + "\"name\":\"where2eat-https\"}]");
      for (String cidr : List.of("0.0.0.0/0", "::/0")) {
        assertThat(json).contains("{\"clientSelectors\":[{\"sourceCIDR\":{\"type\":\"Distinct\",\"value\":\"" + cidr
            + "\"}}],\"limit\":{\"requests\":" + perIp + ",\"unit\":\"Minute\"}}");
      }
      assertThat(EnvoyGatewayPolicy.present(roundTrip(p), plan)).as("%d/min", perIp).isTrue();
      assertThat(EnvoyGatewayPolicy.matches(roundTrip(p), p)).isTrue();
    }
  }

  @Test
  void everyDriftThatChangesWhoIsLimitedOrHowMuchIsNoMatch() {
    MicroApp app = app(240);
    AppPlan plan = AppPlan.resolve(app, config(EdgeLimits.ENVOY_GATEWAY));
    GenericKubernetesResource desired = EnvoyGatewayPolicy.desired(app, plan);
    List<Consumer<Map<String, Object>>> drifts = new ArrayList<>();
    drifts.add(s -> rule(s, 0).put("limit", Map.of("requests", 241, "unit", "Minute")));
    drifts.add(s -> rule(s, 1).put("limit", Map.of("requests", 240, "unit", "Hour")));
    drifts.add(s -> selector(s, 0).put("type", "Exact"));
    drifts.add(s -> selector(s, 1).put("value", "10.0.0.0/8"));
    drifts.add(s -> selector(s, 0).put("invert", true));
    drifts.add(s -> rules(s).remove(1));
    drifts.add(s -> rules(s).add(Map.of("limit", Map.of("requests", 1, "unit", "Second"))));
    drifts.add(s -> ((Map<String, Object>) s.get("rateLimit")).put("type", "Global"));
    drifts.add(s -> s.put("targetRefs", List.of(Map.of("group", "gateway.networking.k8s.io", "kind", "Gateway",
        "name", "public"))));
    drifts.add(s -> s.put("targetRefs", List.of(Map.of("group", "gateway.networking.k8s.io", "kind", "HTTPRoute",
        "name", "other-https"))));
    drifts.add(s -> s.put("targetRefs", List.of(Map.of("group", "gateway.networking.k8s.io", "kind", "HTTPRoute",
        "name", "where2eat-https", "sectionName", "rule-1"))));
    drifts.add(s -> s.remove("rateLimit"));
    for (int i = 0; i < drifts.size(); i++) {
      GenericKubernetesResource observed = roundTrip(desired);
      drifts.get(i).accept(spec(observed));
      assertThat(EnvoyGatewayPolicy.matches(observed, desired)).as("drift %d: %s", i, spec(observed)).isFalse();
      assertThat(EnvoyGatewayPolicy.present(observed, plan)).as("drift %d", i).isFalse();
    }
    GenericKubernetesResource unlabelled = roundTrip(desired);
    unlabelled.getMetadata().getLabels().remove("app.kubernetes.io/managed-by");
    assertThat(EnvoyGatewayPolicy.matches(unlabelled, desired)).isFalse();
  }

  @Test
  void rateLimitedFollowsWhatEnvoyGatewaySaysOnTheAppsGatewayAtTheCurrentGeneration() {
    MicroApp app = app(240);
    AppPlan plan = AppPlan.resolve(app, config(EdgeLimits.ENVOY_GATEWAY));
    GenericKubernetesResource written = roundTrip(EnvoyGatewayPolicy.desired(app, plan));
    written.getMetadata().setGeneration(3L);
    assertThat(check(plan, null, false).reason()).isEqualTo("EdgePolicyApiMissing");
    assertThat(check(plan, null, true).reason()).isEqualTo("EdgeLimitsPending");
    assertThat(check(plan, written, true).reason()).isEqualTo("EdgeLimitsPending");
    // Another Gateway's verdict, or one about an older generation, says nothing about this one.
    assertThat(check(plan, withStatus(written, "internal", "gateway-system", "True", "Accepted", 3), true).reason())
        .isEqualTo("EdgeLimitsPending");
    assertThat(check(plan, withStatus(written, "public", "other-ns", "True", "Accepted", 3), true).reason())
        .isEqualTo("EdgeLimitsPending");
    assertThat(check(plan, withStatus(written, "public", "gateway-system", "True", "Accepted", 2), true).reason())
        .isEqualTo("EdgeLimitsPending");
    CheckResult ok = check(plan, withStatus(written, "public", "gateway-system", "True", "Accepted", 3), true);
    assertThat(ok.outcome()).isEqualTo(CheckResult.Outcome.PASSED);
    assertThat(ok.message()).isEqualTo("240/min per IP at the edge (Envoy Gateway BackendTrafficPolicy, accepted),"
        + " 60/min per user in the sidecar");
    for (String reason : List.of("Invalid", "Conflicted", "TargetNotFound")) {
      CheckResult refused = check(plan, withStatus(written, "public", "gateway-system", "False", reason, 3), true);
      assertThat(refused.reason()).isEqualTo("EdgePolicyNotAccepted");
      assertThat(refused.message()).contains("(reason " + reason + ")");
    }
    for (String junk : List.of("Evil,Reason", "x y", "a:b", "<b>", "Z" + "z".repeat(64), "", "9Lives")) {
      CheckResult refused = check(plan, withStatus(written, "public", "gateway-system", "False", junk, 3), true);
      assertThat(refused.message()).as(junk).contains("(reason Unknown)");
    }
    // Without the adapter the policy is irrelevant and the sidecar's limits are all there is.
    AppPlan none = AppPlan.resolve(app, config(EdgeLimits.NONE));
    assertThat(check(none, null, false).reason()).isEqualTo("NoPerIpLimit");
    assertThat(check(none, null, false).message()).contains("--gateway-edge-limits none");
  }

  @Test
  void theAdapterFlagAcceptsOnlyItsTwoValues() {
    assertThat(EdgeLimits.parse("--gateway-edge-limits", " Envoy-Gateway ")).isEqualTo(EdgeLimits.ENVOY_GATEWAY);
    assertThat(EdgeLimits.parse("--gateway-edge-limits", "NONE")).isEqualTo(EdgeLimits.NONE);
    assertThat(EdgeLimits.parse("--gateway-edge-limits", null)).isEqualTo(EdgeLimits.NONE);
    for (String bad : List.of("envoy", "envoy_gateway", "istio", "nginx", "envoy-gateway,none", "true")) {
      assertThatThrownBy(() -> EdgeLimits.parse("--gateway-edge-limits", bad)).as(bad)
          .hasMessage("--gateway-edge-limits: '" + bad + "' is not one of none, envoy-gateway");
    }
  }

  static CheckResult check(AppPlan plan, GenericKubernetesResource policy, boolean served) {
    return RateLimitCheck.check(plan, new Observed(null, null, null, null, null, null, null, null, null, List.of(),
        ImageScan.of(ImageScan.State.NOT_REQUIRED, null)).withGateway(null, null, null).withEdgePolicy(policy, served));
  }

  static GenericKubernetesResource withStatus(GenericKubernetesResource p, String gateway, String ns, String status,
      String reason, long generation) {
    GenericKubernetesResource copy = new GenericKubernetesResourceBuilder(roundTrip(p)).build();
    copy.getMetadata().setGeneration(p.getMetadata().getGeneration());
    copy.setAdditionalProperty("status", Map.of("ancestors", List.of(Map.of(
        "ancestorRef", Map.of("group", "gateway.networking.k8s.io", "kind", "Gateway", "name", gateway, "namespace", ns),
        "controllerName", "gateway.envoyproxy.io/gatewayclass-controller",
        "conditions", List.of(Map.of("type", "Accepted", "status", status, "reason", reason,
            "observedGeneration", generation))))));
    return copy;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> spec(GenericKubernetesResource r) {
    return (Map<String, Object>) r.getAdditionalProperties().get("spec");
  }

  @SuppressWarnings("unchecked")
  static List<Object> rules(Map<String, Object> spec) {
    return (List<Object>) ((Map<String, Object>) ((Map<String, Object>) spec.get("rateLimit")).get("local")).get("rules");
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> rule(Map<String, Object> spec, int i) {
    return (Map<String, Object>) rules(spec).get(i);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> selector(Map<String, Object> spec, int i) {
    return (Map<String, Object>) ((Map<String, Object>) ((List<Object>) rule(spec, i).get("clientSelectors")).get(0))
        .get("sourceCIDR");
  }
}
