package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.RateLimitSpec;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.cli.RunCommand;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.EdgeLimits;
import io.safedefaults.microapp.policy.Exposure;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.ratelimit.EnvoyGatewayPolicy;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Gateway mode's edge rate limit with Envoy Gateway (--gateway-edge-limits envoy-gateway) on a real
 * kube-apiserver with the real Gateway API CRDs and Envoy Gateway's BackendTrafficPolicy CRD (versions
 * pinned in e2e/control-plane/versions.env, copies in src/test/resources). Envoy Gateway itself cannot
 * run here: the test writes the policy's status.ancestors the way it does. The cluster policy is the
 * flags', switched by the test through {@link #flags} (the adapter is cluster-wide).
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class EnvoyGatewayEdgeLimitsApiServerTest {
  static KubernetesClient client;
  static final String OPERATOR_NS = "microapp-system";
  static final String GATEWAY_NS = GatewayApiServerTest.GATEWAY_NS;
  static final ResourceDefinitionContext BTP = new ResourceDefinitionContext.Builder()
      .withGroup(EnvoyGatewayPolicy.GROUP).withVersion(EnvoyGatewayPolicy.VERSION).withKind(EnvoyGatewayPolicy.KIND)
      .withPlural(EnvoyGatewayPolicy.PLURAL).withNamespaced(true).build();
  static final Set<String> WRITTEN = Set.of("serviceaccounts", "configmaps", "secrets", "deployments", "services",
      "ingresses", "networkpolicies", "microapps", "events", "httproutes", "backendtrafficpolicies");
  static volatile OperatorConfig flags = config(EdgeLimits.ENVOY_GATEWAY, List.of("10.244.0.0/16"));
  static Operator operator;
  static MicroAppReconciler reconciler;

  static OperatorConfig config(EdgeLimits edge, List<String> trusted) {
    return OperatorConfig.builder().clusterIssuer("letsencrypt-test").defaultIssuer("https://login.example.com/realms/acme")
        .trustedProxyCidrs(trusted)
        .exposure(Exposure.gateway("--", "public", GATEWAY_NS, "https", "http", List.of("envoy-gateway-system")))
        .gatewayEdgeLimits(edge).build();
  }

  @BeforeAll
  static void cluster() throws Exception {
    TestCluster.installCrd(client);
    installCrds(Path.of("src/test/resources/gateway-api"), "GATEWAY_API_CRDS_VERSION", "sigs.k8s.io/gateway-api");
    assertThat(RunCommand.edgePolicyApi(client)).as("not served before its CRD is installed").isFalse();
    installCrds(Path.of("src/test/resources/envoy-gateway"), "ENVOY_GATEWAY_VERSION", "github.com/envoyproxy/gateway");
    await().atMost(Duration.ofSeconds(30)).until(() -> RunCommand.edgePolicyApi(client));
    for (String ns : List.of(OPERATOR_NS, GATEWAY_NS)) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .serverSideApply();
    }
    client.resource(GatewayApiServerTest.gateway("public", "*.apps.example.com")).create();
    var keys = new SealingKeyStore(client, OPERATOR_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    reconciler = new MicroAppReconciler(ns -> flags, new HostClaims(OPERATOR_NS),
        new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC(),
        RunCommand.gatewayApi(client), RunCommand.edgePolicyApi(client));
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofSeconds(2)));
    operator.start();
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.stop();
    }
  }

  @Test
  void anExposedAppGetsItsPolicyWithItsPerIpLimitRateLimitedFollowsEnvoyGatewayDriftIsRepairedResyncsWriteNothing()
      throws Exception {
    String ns = namespace("team-edge");
    MicroApp app = app(ns, "where2eat", "where2eat.apps.example.com", 240);
    client.resource(app).create();
    GenericKubernetesResource policy = await().atMost(Duration.ofSeconds(30)).until(() -> policy(ns, "where2eat-edge"),
        p -> p != null);
    assertThat(route(ns, "where2eat-https")).as("the route it targets").isNotNull();
    assertThat(spec(policy).get("targetRefs")).isEqualTo(List.of(Map.of("group", "gateway.networking.k8s.io",
        "kind", "HTTPRoute", "name", "where2eat-https")));
    @SuppressWarnings("unchecked")
    Map<String, Object> rateLimit = (Map<String, Object>) spec(policy).get("rateLimit");
    assertThat(rateLimit).containsEntry("type", "Local").containsOnlyKeys("type", "local");
    assertThat(rateLimit.get("local")).as("the CRD defaults sourceCIDR.invert to false").isEqualTo(Map.of("rules",
        List.of(stored("0.0.0.0/0", 240), stored("::/0", 240))));
    assertThat(policy.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getKind()).isEqualTo("MicroApp");
      assertThat(o.getUid()).isEqualTo(get(ns, "where2eat").getMetadata().getUid());
    });

    // Written, not yet accepted by Envoy Gateway: the edge limit does not count yet.
    MicroApp pending = await().atMost(Duration.ofSeconds(30)).until(() -> get(ns, "where2eat"),
        a -> a.getStatus() != null && Conditions.find(a.getStatus(), Conditions.RATE_LIMITED)
            .map(c -> c.getMessage().contains("Envoy Gateway has not (yet) accepted")).orElse(false));
    assertThat(condition(pending).getStatus()).isEqualTo("False");
    assertThat(condition(pending).getReason()).isEqualTo("EdgeLimitsPending");
    assertThat(condition(pending).getMessage()).contains("BackendTrafficPolicy where2eat-edge")
        .contains("Gateway gateway-system/public");

    accept(ns, "where2eat-edge", "True", "Accepted");
    MicroApp limited = awaitRateLimited(ns, "where2eat", "Limited");
    assertThat(condition(limited).getStatus()).isEqualTo("True");
    assertThat(condition(limited).getMessage()).isEqualTo("240/min per IP at the edge (Envoy Gateway"
        + " BackendTrafficPolicy, accepted) and 240/min per IP (burst 10/s) in the sidecar, 60/min per user in the"
        + " sidecar");

    // Drift: someone raises the limit and points the policy at the whole Gateway; the operator puts it back.
    TestCluster.retryOnConflict(() -> client.genericKubernetesResources(BTP).inNamespace(ns).withName("where2eat-edge")
        .edit(p -> {
          Map<String, Object> s = spec(p);
          s.put("targetRefs", List.of(Map.of("group", "gateway.networking.k8s.io", "kind", "Gateway", "name", "public")));
          s.put("rateLimit", Map.of("type", "Local", "local", Map.of("rules", List.of(rule("0.0.0.0/0", 100000)))));
          return p;
        }));
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      GenericKubernetesResource p = policy(ns, "where2eat-edge");
      return p != null && EnvoyGatewayPolicy.present(p, io.safedefaults.microapp.policy.AppPlan.resolve(get(ns,
          "where2eat"), flags)) && ((Map<?, ?>) ((List<?>) spec(p).get("targetRefs")).get(0)).get("kind").equals("HTTPRoute");
    });
    accept(ns, "where2eat-edge", "True", "Accepted"); // Envoy Gateway's verdict on the repaired generation
    awaitRateLimited(ns, "where2eat", "Limited");

    Thread.sleep(3000); // the last status patch settles
    Map<String, Long> before = new TreeMap<>();
    WRITTEN.forEach(r -> before.put(r, ApiServerRequests.writes(client, Set.of(r))));
    Thread.sleep(8000); // four resyncs at the 2 s interval
    Map<String, Long> written = new TreeMap<>();
    WRITTEN.forEach(r -> written.put(r, ApiServerRequests.writes(client, Set.of(r)) - before.get(r)));
    assertThat(written.values()).as("API writes during resyncs, by resource: %s", written).allMatch(n -> n == 0);
  }

  @Test
  void aPolicyEnvoyGatewayRefusesIsRateLimitedFalseWithItsReasonAndOnlyAPlainReasonIsShown() {
    String ns = namespace("team-refused-edge");
    client.resource(app(ns, "shop", "shop.apps.example.com", 120)).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> policy(ns, "shop-edge") != null);
    accept(ns, "shop-edge", "False", "Invalid");
    MicroApp refused = awaitRateLimited(ns, "shop", "EdgePolicyNotAccepted");
    assertThat(condition(refused).getStatus()).isEqualTo("False");
    assertThat(condition(refused).getMessage()).contains("Envoy Gateway refused the BackendTrafficPolicy shop-edge")
        .contains("Gateway gateway-system/public").contains("(reason Invalid)");
    // A reason that is not a plain word (free text from elsewhere) is never copied into the status.
    // (The CRD itself refuses spaces and markup in a reason; these pass it but are no plain CamelCase word.)
    for (String reason : List.of("Evil,Reason", "Host:Name", "Under_score", "A" + "b".repeat(80))) {
      accept(ns, "shop-edge", "False", reason);
      await().atMost(Duration.ofSeconds(30)).until(() -> condition(get(ns, "shop")).getMessage().contains("(reason Unknown)"));
      assertThat(condition(get(ns, "shop")).getMessage()).doesNotContain(reason);
      accept(ns, "shop-edge", "False", "Invalid");
      await().atMost(Duration.ofSeconds(30)).until(() -> condition(get(ns, "shop")).getMessage().contains("(reason Invalid)"));
    }
  }

  @Test
  void thePolicyGoesWhenTheAppLosesItsHostOrTheAdapterIsSwitchedOffAndRateLimitedSaysTheSidecarAloneApplies() {
    String ns = namespace("team-off");
    client.resource(app(ns, "menu", "menu.apps.example.com", 300)).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> policy(ns, "menu-edge") != null);
    accept(ns, "menu-edge", "True", "Accepted");
    awaitRateLimited(ns, "menu", "Limited");

    TestCluster.retryOnConflict(() -> client.resources(MicroApp.class).inNamespace(ns).withName("menu").edit(a -> {
      a.getSpec().setHost(null);
      return a;
    }));
    await().atMost(Duration.ofSeconds(30)).until(() -> policy(ns, "menu-edge") == null && route(ns, "menu-https") == null);
    TestCluster.retryOnConflict(() -> client.resources(MicroApp.class).inNamespace(ns).withName("menu").edit(a -> {
      a.getSpec().setHost("menu.apps.example.com");
      return a;
    }));
    await().atMost(Duration.ofSeconds(30)).until(() -> policy(ns, "menu-edge") != null);

    try {
      for (List<String> trusted : List.of(List.of("10.244.0.0/16"), List.<String>of())) {
        flags = config(EdgeLimits.NONE, trusted);
        reconciler.policyChanged(Set.of(ns));
        await().atMost(Duration.ofSeconds(30)).until(() -> policy(ns, "menu-edge") == null);
        assertThat(route(ns, "menu-https")).as("the routes stay").isNotNull();
        if (trusted.isEmpty()) {
          MicroApp none = awaitRateLimited(ns, "menu", "NoPerIpLimit");
          assertThat(condition(none).getMessage()).contains("--gateway-edge-limits none")
              .contains("--trusted-proxy-cidrs").contains("Gateway gateway-system/public");
        } else {
          MicroApp sidecar = awaitRateLimited(ns, "menu", "Limited");
          assertThat(condition(sidecar).getMessage()).isEqualTo("300/min per IP (burst 10/s) in the sidecar,"
              + " 60/min per user in the sidecar (no edge limit: --gateway-edge-limits none)");
        }
      }
    } finally {
      flags = config(EdgeLimits.ENVOY_GATEWAY, List.of("10.244.0.0/16"));
      reconciler.policyChanged(Set.of(ns));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> policy(ns, "menu-edge") != null);
  }

  // --- helpers

  static Map<String, Object> rule(String cidr, long requests) {
    return Map.of("clientSelectors", List.of(Map.of("sourceCIDR", Map.of("type", "Distinct", "value", cidr))),
        "limit", Map.of("requests", (int) requests, "unit", "Minute"));
  }

  static Map<String, Object> stored(String cidr, long requests) {
    return Map.of("clientSelectors", List.of(Map.of("sourceCIDR", Map.of("type", "Distinct", "value", cidr,
        "invert", false))), "limit", Map.of("requests", (int) requests, "unit", "Minute"));
  }

  /** What Envoy Gateway writes once it has processed the policy for the Gateway the route attaches to. */
  static void accept(String ns, String name, String status, String reason) {
    TestCluster.retryOnConflict(() -> {
      GenericKubernetesResource p = policy(ns, name);
      long generation = p.getMetadata().getGeneration();
      p.setAdditionalProperty("status", Map.of("ancestors", List.of(Map.of(
          "ancestorRef", Map.of("group", "gateway.networking.k8s.io", "kind", "Gateway", "name", "public",
              "namespace", GATEWAY_NS),
          "controllerName", "gateway.envoyproxy.io/gatewayclass-controller",
          "conditions", List.of(Map.of("type", "Accepted", "status", status, "reason", reason,
              "message", "set by the test", "observedGeneration", generation,
              "lastTransitionTime", "2026-12-07T00:00:00Z"))))));
      client.genericKubernetesResources(BTP).inNamespace(ns).resource(p).updateStatus();
    });
  }

  static void installCrds(Path dir, String versionKey, String module) throws Exception {
    String pinned = Files.readAllLines(TestFiles.repoFile("e2e/control-plane/versions.env")).stream()
        .filter(l -> l.startsWith(versionKey + "=")).findFirst().orElseThrow().substring(versionKey.length() + 1);
    try (var files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        assertThat(Files.readString(file)).as(file + " regenerated for the pinned version")
            .startsWith("# " + module + "@v" + pinned + " ");
        try (var in = new FileInputStream(file.toFile())) {
          for (HasMetadata item : client.load(in).items()) {
            CustomResourceDefinition crd = (CustomResourceDefinition) item;
            client.resource(crd).serverSideApply();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
              var s = client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                  .get().getStatus();
              return s != null && s.getConditions() != null && s.getConditions().stream()
                  .anyMatch(c -> c.getType().equals("Established") && c.getStatus().equals("True"));
            });
          }
        }
      }
    }
  }

  static String namespace(String name) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name)
        .addToLabels("pod-security.kubernetes.io/enforce", "restricted").endMetadata().build()).serverSideApply();
    return name;
  }

  static MicroApp app(String ns, String name, String host, int perIpPerMinute) {
    MicroApp app = TestApps.where2eat(ns);
    app.getMetadata().setName(name);
    app.getSpec().setHost(host);
    RateLimitSpec limits = new RateLimitSpec();
    limits.setPerIP(new RateLimitSpec.PerIp());
    limits.getPerIP().setRequestsPerMinute(perIpPerMinute);
    app.getSpec().setRateLimit(limits);
    return app;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> spec(GenericKubernetesResource r) {
    return (Map<String, Object>) r.getAdditionalProperties().get("spec");
  }

  static GenericKubernetesResource policy(String ns, String name) {
    return client.genericKubernetesResources(BTP).inNamespace(ns).withName(name).get();
  }

  static HTTPRoute route(String ns, String name) {
    return client.resources(HTTPRoute.class).inNamespace(ns).withName(name).get();
  }

  static MicroApp get(String ns, String name) {
    return client.resources(MicroApp.class).inNamespace(ns).withName(name).get();
  }

  static io.safedefaults.microapp.api.StatusCondition condition(MicroApp app) {
    return Conditions.find(app.getStatus(), Conditions.RATE_LIMITED).orElseThrow();
  }

  static MicroApp awaitRateLimited(String ns, String name, String reason) {
    return await().atMost(Duration.ofSeconds(30)).until(() -> get(ns, name),
        a -> a != null && a.getStatus() != null && Conditions.find(a.getStatus(), Conditions.RATE_LIMITED)
            .map(c -> reason.equals(c.getReason())).orElse(false));
  }
}
