package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatusBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.PolicyWatch;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import io.safedefaults.microapp.tls.GatewayRoutes;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Gateway mode on a real kube-apiserver with the real Gateway API standard-channel CRDs (the
 * version pinned in e2e/control-plane/versions.env, copies in src/test/resources/gateway-api).
 * No Gateway implementation can run here (e2e/README.md), so {@link FakeGatewayController} writes
 * the routes' status the way one does: Accepted and ResolvedRefs per parentRef at the route's
 * generation, or a refusal the test asks for. The flags choose ingress; the MicroAppPolicy "edge"
 * puts the namespaces labelled exposure=gateway on the Gateway gateway-system/public.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class GatewayApiServerTest {
  static KubernetesClient client;
  static final String OPERATOR_NS = "microapp-system";
  static final String GATEWAY_NS = "gateway-system";
  static final OperatorConfig FLAGS = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").trustedProxyCidrs(List.of("10.244.0.0/16")).build();
  /** Not leases: the API server renews its own identity Lease every 10 s, which the counter cannot tell apart. */
  static final Set<String> WRITTEN = Set.of("serviceaccounts", "configmaps", "secrets", "deployments", "services",
      "ingresses", "networkpolicies", "microapps", "events", "httproutes");
  static Operator operator;
  static PolicyWatch policies;
  static FakeGatewayController gatewayController;

  @BeforeAll
  static void cluster() throws Exception {
    TestCluster.installCrd(client);
    TestCluster.installCrd(client, TestFiles.POLICIES);
    installGatewayApi();
    for (String ns : List.of(OPERATOR_NS, GATEWAY_NS)) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
          .serverSideApply();
    }
    client.resource(gateway("public", "*.apps.example.com")).create();
    MicroAppPolicy edge = new MicroAppPolicy();
    edge.setMetadata(new ObjectMetaBuilder().withName("edge").build());
    MicroAppPolicySpec spec = new MicroAppPolicySpec();
    spec.setNamespaceSelector(io.safedefaults.microapp.api.NamespaceSelector.labels(Map.of("exposure", "gateway")));
    spec.setExposure(new MicroAppPolicySpec.ExposureSpec());
    spec.getExposure().setMode(MicroAppPolicySpec.ExposureMode.GATEWAY);
    spec.getExposure().setGateway(new MicroAppPolicySpec.GatewayRef());
    spec.getExposure().getGateway().setName("public");
    spec.getExposure().getGateway().setNamespace(GATEWAY_NS);
    edge.setSpec(spec);
    client.resource(edge).create();
    var keys = new SealingKeyStore(client, OPERATOR_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    gatewayController = new FakeGatewayController();
    policies = new PolicyWatch(client, FLAGS, java.time.Clock.systemUTC()).start();
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    MicroAppReconciler reconciler = new MicroAppReconciler(policies, new HostClaims(OPERATOR_NS),
        new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC(),
        io.safedefaults.microapp.cli.RunCommand.gatewayApi(client));
    policies.onChange(reconciler::policyChanged);
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofSeconds(2)));
    operator.start();
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.stop();
      policies.close();
    }
    if (gatewayController != null) {
      gatewayController.close();
    }
  }

  @Test
  void anAppGetsItsTwoRoutesTheDataPlaneAndReadyFromTheRoutesStatusDriftIsRepairedAndResyncsWriteNothing()
      throws Exception {
    String ns = namespace("team-gw", true);
    MicroApp app = app(ns, "where2eat", "where2eat.apps.example.com");
    client.resource(app).create();
    HTTPRoute https = await().atMost(Duration.ofSeconds(30)).until(() -> route(ns, "where2eat-https"), r -> r != null);
    HTTPRoute redirect = await().atMost(Duration.ofSeconds(30)).until(() -> route(ns, "where2eat-http"), r -> r != null);
    assertThat(https.getSpec().getHostnames()).containsExactly("where2eat.apps.example.com");
    assertThat(https.getSpec().getParentRefs()).singleElement().satisfies(p -> {
      assertThat(p.getName()).isEqualTo("public");
      assertThat(p.getNamespace()).isEqualTo(GATEWAY_NS);
      assertThat(p.getSectionName()).isEqualTo("https");
    });
    var rule = https.getSpec().getRules().get(0);
    assertThat(rule.getBackendRefs()).singleElement().satisfies(b -> {
      assertThat(b.getName()).isEqualTo("where2eat");
      assertThat(b.getPort()).as("the Service's only port, which targets the sidecar").isEqualTo(80);
    });
    assertThat(rule.getFilters()).singleElement().satisfies(f -> {
      assertThat(f.getType()).isEqualTo("ResponseHeaderModifier");
      assertThat(f.getResponseHeaderModifier().getSet()).singleElement().satisfies(h -> {
        assertThat(h.getName()).isEqualTo("Strict-Transport-Security");
        assertThat(h.getValue()).isEqualTo(SidecarConfig.HSTS);
      });
    });
    assertThat(redirect.getSpec().getParentRefs().get(0).getSectionName()).isEqualTo("http");
    assertThat(redirect.getSpec().getRules()).singleElement().satisfies(r -> {
      assertThat(r.getBackendRefs()).as("the HTTP listener serves nothing").isEmpty();
      assertThat(r.getFilters()).singleElement().satisfies(f -> {
        assertThat(f.getRequestRedirect().getScheme()).isEqualTo("https");
        assertThat(f.getRequestRedirect().getStatusCode()).isEqualTo(301);
      });
    });
    assertThat(https.getMetadata().getOwnerReferences()).singleElement()
        .satisfies(o -> assertThat(o.getKind()).isEqualTo("MicroApp"));
    assertThat(client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get()).isNull();
    NetworkPolicy np = await().until(() -> client.network().v1().networkPolicies().inNamespace(ns)
        .withName("where2eat").get(), n -> n != null);
    assertThat(np.getSpec().getIngress().get(0).getFrom()).anySatisfy(p -> assertThat(p.getNamespaceSelector()
        .getMatchLabels()).containsEntry("kubernetes.io/metadata.name", GATEWAY_NS));
    assertThat(np.getSpec().getIngress().get(0).getFrom()).noneSatisfy(p -> assertThat(p.getNamespaceSelector())
        .isNotNull().satisfies(s -> assertThat(s.getMatchLabels()).containsValue("ingress-nginx")));

    markAvailable(ns, "where2eat");
    MicroApp ready = awaitCondition(ns, "where2eat", Conditions.READY, "True");
    assertThat(condition(ready, Conditions.TLS).getMessage()).contains("Gateway gateway-system/public");
    assertThat(ready.getStatus().getUrl()).isEqualTo("https://where2eat.apps.example.com");

    // Drift: the backend pointed at the app's own port around the sidecar, HSTS removed; the redirect deleted.
    client.resources(HTTPRoute.class).inNamespace(ns).withName("where2eat-https").edit(r -> new HTTPRouteBuilder(r)
        .editSpec().editFirstRule().withFilters().editFirstBackendRef().withPort(8080).endBackendRef().endRule()
        .endSpec().build());
    client.resources(HTTPRoute.class).inNamespace(ns).withName("where2eat-http").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      HTTPRoute r = route(ns, "where2eat-https");
      return r != null && r.getSpec().getRules().get(0).getBackendRefs().get(0).getPort() == 80
          && !r.getSpec().getRules().get(0).getFilters().isEmpty() && route(ns, "where2eat-http") != null;
    });
    awaitCondition(ns, "where2eat", Conditions.READY, "True");

    Thread.sleep(3000); // the last status patch and the controller's status writes settle
    Map<String, Long> before = new java.util.TreeMap<>();
    WRITTEN.forEach(r -> before.put(r, ApiServerRequests.writes(client, Set.of(r))));
    Thread.sleep(8000); // four resyncs at the 2 s interval
    Map<String, Long> written = new java.util.TreeMap<>();
    WRITTEN.forEach(r -> written.put(r, ApiServerRequests.writes(client, Set.of(r)) - before.get(r)));
    assertThat(written.values()).as("API writes during resyncs, by resource: %s", written).allMatch(n -> n == 0);
  }

  @Test
  void aRouteTheGatewayRefusesIsAConditionNamingTheGatewayAndTheReasonNeverReady() {
    String ns = namespace("team-refused", true);
    gatewayController.refuse(ns, "shop-https", "NotAllowedByListeners");
    client.resource(app(ns, "shop", "shop.apps.example.com")).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> client.apps().deployments().inNamespace(ns).withName("shop")
        .get() != null);
    markAvailable(ns, "shop");
    MicroApp refused = awaitCondition(ns, "shop", Conditions.TLS, "False");
    await().atMost(Duration.ofSeconds(30)).until(() -> "RouteRefused".equals(condition(get(ns, "shop"), Conditions.TLS)
        .getReason()));
    refused = get(ns, "shop");
    assertThat(condition(refused, Conditions.TLS).getMessage()).contains("HTTPRoute shop-https")
        .contains("Gateway gateway-system/public").contains("Accepted=False, reason NotAllowedByListeners")
        .contains("namespace " + ns);
    assertThat(condition(refused, Conditions.READY).getStatus()).isEqualTo("False");
    assertThat(condition(refused, Conditions.READY).getReason()).isEqualTo("RouteRefused");

    gatewayController.refuse(ns, "shop-https", null); // the platform team admitted the namespace
    awaitCondition(ns, "shop", Conditions.READY, "True");
  }

  @Test
  void aMissingGatewayOrAListenerNotCoveringTheHostGivesNoRouteAndSaysWhy() {
    String ns = namespace("team-elsewhere", true);
    client.resource(app(ns, "blog", "blog.other.org")).create();
    MicroApp app = await().atMost(Duration.ofSeconds(30)).until(() -> get(ns, "blog"),
        a -> a != null && a.getStatus() != null && "GatewayHostnameMismatch".equals(condition(a, Conditions.READY).getReason()));
    assertThat(condition(app, Conditions.TLS).getMessage()).contains("Gateway gateway-system/public")
        .contains("listener 'https' serves hostname *.apps.example.com, which does not cover spec.host blog.other.org");
    assertThat(route(ns, "blog-https")).isNull();
    assertThat(route(ns, "blog-http")).isNull();

    // The Gateway goes: the routes of an app on it go too, and the status says what is missing.
    String ns2 = namespace("team-gone", true);
    client.resource(gateway("gone", "*.apps.example.com")).create();
    MicroAppPolicy p = policyFor("gone-policy", "gone", "gone");
    client.resource(p).create();
    client.namespaces().withName(ns2).edit(n -> new NamespaceBuilder(n).editMetadata().addToLabels("gw", "gone")
        .removeFromLabels("exposure").endMetadata().build());
    client.resource(app(ns2, "cart", "cart.apps.example.com")).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> route(ns2, "cart-https") != null);
    client.resources(Gateway.class).inNamespace(GATEWAY_NS).withName("gone").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> route(ns2, "cart-https") == null && route(ns2, "cart-http") == null);
    MicroApp cart = await().atMost(Duration.ofSeconds(30)).until(() -> get(ns2, "cart"),
        a -> "GatewayNotFound".equals(condition(a, Conditions.READY).getReason()));
    assertThat(condition(cart, Conditions.TLS).getMessage()).contains("Gateway gateway-system/gone (from policy"
        + " gone-policy) does not exist");
  }

  /**
   * Ingress to gateway and back, sampled all along: whatever exists for the host at any moment
   * serves it with TLS only (an Ingress with TLS and the forced redirect, a route on the HTTPS
   * listener, or a route that only redirects). Never a plain-HTTP path to the app.
   */
  @Test
  void switchingBetweenIngressAndGatewayNeverExposesTheAppWithoutTls() throws Exception {
    String ns = namespace("team-switch", false);
    String host = "switch.apps.example.com";
    client.resource(app(ns, "switch", host)).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> client.apps().deployments().inNamespace(ns).withName("switch")
        .get() != null);
    markAvailable(ns, "switch");
    awaitCondition(ns, "switch", Conditions.READY, "True");
    assertThat(client.network().v1().ingresses().inNamespace(ns).withName("switch").get()).isNotNull();

    List<String> violations = new CopyOnWriteArrayList<>();
    List<String> seen = new CopyOnWriteArrayList<>();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    sampler.scheduleWithFixedDelay(() -> {
      try {
        sample(ns, "switch", host, violations, seen);
      } catch (RuntimeException e) {
        violations.add("sampling failed: " + e);
      }
    }, 0, 20, TimeUnit.MILLISECONDS);
    try {
      for (int round = 0; round < 2; round++) {
        label(ns, true);
        await().atMost(Duration.ofSeconds(30)).until(() -> route(ns, "switch-https") != null
            && client.network().v1().ingresses().inNamespace(ns).withName("switch").get() == null);
        awaitReadyThrough(ns, "switch", "Gateway gateway-system/public");
        label(ns, false);
        await().atMost(Duration.ofSeconds(30)).until(() -> route(ns, "switch-https") == null
            && route(ns, "switch-http") == null
            && client.network().v1().ingresses().inNamespace(ns).withName("switch").get() != null);
        awaitReadyThrough(ns, "switch", "with a certificate from letsencrypt-test");
      }
    } finally {
      sampler.shutdown(); // not shutdownNow: an interrupted request is no finding
      assertThat(sampler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(violations).isEmpty();
    assertThat(seen).as("the sampler saw both kinds of entry point").contains("ingress", "route");
    NetworkPolicy np = client.network().v1().networkPolicies().inNamespace(ns).withName("switch").get();
    assertThat(np.getSpec().getIngress().get(0).getFrom()).anySatisfy(p -> assertThat(p.getNamespaceSelector())
        .isNotNull().satisfies(s -> assertThat(s.getMatchLabels()).containsValue("ingress-nginx")));
  }

  /**
   * A host passes to another app only once the former holder's routes no longer serve it: with no
   * garbage collector here, a deleted app's routes stay until the test deletes them, and until
   * then the new app waits (HostSettling) with no route of its own.
   */
  @Test
  void aHostPassesOnOnlyOnceTheFormerHoldersRoutesAreGone() {
    String ns = namespace("team-hosts", true);
    String host = "menu.apps.example.com";
    client.resource(app(ns, "menu", host)).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> route(ns, "menu-https") != null && route(ns, "menu-http") != null);
    client.resources(MicroApp.class).inNamespace(ns).withName("menu").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> get(ns, "menu") == null);
    client.resource(app(ns, "menu2", host)).create();
    MicroApp waiting = await().atMost(Duration.ofSeconds(30)).until(() -> get(ns, "menu2"),
        a -> a != null && a.getStatus() != null && "HostSettling".equals(condition(a, Conditions.READY).getReason()));
    assertThat(condition(waiting, Conditions.READY).getMessage()).contains("its Ingress or HTTPRoutes are being removed");
    assertThat(route(ns, "menu2-https")).isNull();
    // The garbage collector's part: the HTTPS route first; the redirect route alone still holds the host.
    client.resources(HTTPRoute.class).inNamespace(ns).withName("menu-https").delete();
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> route(ns, "menu2-https") == null);
    client.resources(HTTPRoute.class).inNamespace(ns).withName("menu-http").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> route(ns, "menu2-https") != null);
  }

  // --- helpers

  static void sample(String ns, String name, String host, List<String> violations, List<String> seen) {
    Ingress ing = client.network().v1().ingresses().inNamespace(ns).withName(name).get();
    if (ing != null) {
      seen.add("ingress");
      var a = ing.getMetadata().getAnnotations();
      boolean tls = ing.getSpec().getTls() != null && ing.getSpec().getTls().stream()
          .anyMatch(t -> t.getHosts().contains(host) && t.getSecretName() != null);
      if (!tls || !"true".equals(a.get("nginx.ingress.kubernetes.io/force-ssl-redirect"))) {
        violations.add("an Ingress without TLS or the forced redirect: " + ing.getSpec());
      }
    }
    for (HTTPRoute r : client.resources(HTTPRoute.class).inNamespace(ns).list().getItems()) {
      seen.add("route");
      var rule = r.getSpec().getRules().get(0);
      String section = r.getSpec().getParentRefs().get(0).getSectionName();
      boolean onHttps = "https".equals(section) && rule.getFilters().stream()
          .anyMatch(f -> "ResponseHeaderModifier".equals(f.getType()));
      boolean redirectOnly = rule.getBackendRefs().isEmpty() && rule.getFilters().size() == 1
          && "https".equals(rule.getFilters().get(0).getRequestRedirect().getScheme());
      if (!onHttps && !redirectOnly) {
        violations.add("a route that serves the app without TLS: " + r.getMetadata().getName() + " " + r.getSpec());
      }
    }
  }

  static void awaitReadyThrough(String ns, String name, String tlsSays) {
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      MicroApp a = get(ns, name);
      return a != null && a.getStatus() != null && "True".equals(condition(a, Conditions.READY).getStatus())
          && condition(a, Conditions.TLS).getMessage().contains(tlsSays);
    });
  }

  static void installGatewayApi() throws Exception {
    Path dir = Path.of("src/test/resources/gateway-api");
    String pinned = Files.readAllLines(TestFiles.repoFile("e2e/control-plane/versions.env")).stream()
        .filter(l -> l.startsWith("GATEWAY_API_CRDS_VERSION=")).findFirst().orElseThrow()
        .substring("GATEWAY_API_CRDS_VERSION=".length());
    for (String file : List.of("gateway.networking.k8s.io_gatewayclasses.yaml", "gateway.networking.k8s.io_gateways.yaml",
        "gateway.networking.k8s.io_httproutes.yaml")) {
      assertThat(Files.readString(dir.resolve(file))).as(file + " regenerated for the pinned version")
          .startsWith("# sigs.k8s.io/gateway-api@v" + pinned + " ");
      try (var in = new FileInputStream(dir.resolve(file).toFile())) {
        for (HasMetadata item : client.load(in).items()) {
          CustomResourceDefinition crd = (CustomResourceDefinition) item;
          client.resource(crd).serverSideApply();
          await().atMost(Duration.ofSeconds(30)).until(() -> {
            var status = client.apiextensions().v1().customResourceDefinitions()
                .withName(crd.getMetadata().getName()).get().getStatus();
            return status != null && status.getConditions() != null && status.getConditions().stream()
                .anyMatch(c -> c.getType().equals("Established") && c.getStatus().equals("True"));
          });
        }
      }
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> client.supports(HTTPRoute.class) && client.supports(Gateway.class));
  }

  static Gateway gateway(String name, String hostname) {
    return new io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayBuilder().withNewMetadata().withName(name)
        .withNamespace(GATEWAY_NS).endMetadata().withNewSpec().withGatewayClassName("eg")
        .addNewListener().withName("https").withProtocol("HTTPS").withPort(443).withHostname(hostname)
        .withNewTls().withMode("Terminate").addNewCertificateRef().withName("apps-wildcard-tls").endCertificateRef()
        .endTls().withNewAllowedRoutes().withNewNamespaces().withFrom("All").endNamespaces().endAllowedRoutes()
        .endListener()
        .addNewListener().withName("http").withProtocol("HTTP").withPort(80).withHostname(hostname)
        .withNewAllowedRoutes().withNewNamespaces().withFrom("All").endNamespaces().endAllowedRoutes().endListener()
        .endSpec().build();
  }

  static MicroAppPolicy policyFor(String name, String label, String gateway) {
    MicroAppPolicy p = new MicroAppPolicy();
    p.setMetadata(new ObjectMetaBuilder().withName(name).build());
    MicroAppPolicySpec spec = new MicroAppPolicySpec();
    spec.setNamespaceSelector(io.safedefaults.microapp.api.NamespaceSelector.labels(Map.of("gw", label)));
    spec.setExposure(new MicroAppPolicySpec.ExposureSpec());
    spec.getExposure().setMode(MicroAppPolicySpec.ExposureMode.GATEWAY);
    spec.getExposure().setGateway(new MicroAppPolicySpec.GatewayRef());
    spec.getExposure().getGateway().setName(gateway);
    spec.getExposure().getGateway().setNamespace(GATEWAY_NS);
    p.setSpec(spec);
    return p;
  }

  static String namespace(String name, boolean gateway) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name)
        .addToLabels("pod-security.kubernetes.io/enforce", "restricted").endMetadata().build()).serverSideApply();
    label(name, gateway);
    return name;
  }

  static void label(String ns, boolean gateway) {
    client.namespaces().withName(ns).edit(n -> {
      var b = new NamespaceBuilder(n).editMetadata();
      return (gateway ? b.addToLabels("exposure", "gateway") : b.removeFromLabels("exposure")).endMetadata().build();
    });
  }

  static MicroApp app(String ns, String name, String host) {
    MicroApp app = TestApps.where2eat(ns);
    app.getMetadata().setName(name);
    app.getSpec().setHost(host);
    return app;
  }

  static HTTPRoute route(String ns, String name) {
    return client.resources(HTTPRoute.class).inNamespace(ns).withName(name).get();
  }

  static MicroApp get(String ns, String name) {
    return client.resources(MicroApp.class).inNamespace(ns).withName(name).get();
  }

  static io.safedefaults.microapp.api.StatusCondition condition(MicroApp app, String type) {
    return Conditions.find(app.getStatus(), type).orElseThrow();
  }

  static MicroApp awaitCondition(String ns, String name, String type, String status) {
    return await().atMost(Duration.ofSeconds(30)).until(() -> get(ns, name),
        a -> a != null && a.getStatus() != null && Conditions.find(a.getStatus(), type)
            .map(c -> status.equals(c.getStatus())).orElse(false));
  }

  static void markAvailable(String ns, String name) {
    Deployment d = client.apps().deployments().inNamespace(ns).withName(name).get();
    d.setStatus(new DeploymentStatusBuilder().withReplicas(1).withReadyReplicas(1).withAvailableReplicas(1)
        .withUpdatedReplicas(1).withObservedGeneration(d.getMetadata().getGeneration()).build());
    client.apps().deployments().inNamespace(ns).resource(d).updateStatus();
  }

  /**
   * What a Gateway implementation does with routes, minus the data plane: for each parentRef to a
   * Gateway in gateway-system, a RouteParentStatus with Accepted and ResolvedRefs at the route's
   * generation (or Accepted=False with the reason the test set for that route), written to the
   * status subresource only when it differs, as implementations do.
   */
  static final class FakeGatewayController implements AutoCloseable {
    static final String NAME = "example.com/fake-gateway-controller";
    private final Map<String, String> refusals = new ConcurrentHashMap<>();
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();

    FakeGatewayController() {
      loop.scheduleWithFixedDelay(this::pass, 0, 200, TimeUnit.MILLISECONDS);
    }

    /** @param reason the Accepted=False reason for this route, or null to accept it */
    void refuse(String ns, String route, String reason) {
      if (reason == null) {
        refusals.remove(ns + "/" + route);
      } else {
        refusals.put(ns + "/" + route, reason);
      }
    }

    private void pass() {
      try {
        for (HTTPRoute r : client.resources(HTTPRoute.class).inAnyNamespace().list().getItems()) {
          String refusal = refusals.get(r.getMetadata().getNamespace() + "/" + r.getMetadata().getName());
          long generation = r.getMetadata().getGeneration();
          List<io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus> parents = new ArrayList<>();
          for (var ref : r.getSpec().getParentRefs()) {
            if (!GATEWAY_NS.equals(ref.getNamespace())) {
              continue;
            }
            parents.add(new RouteParentStatusBuilder().withControllerName(NAME).withParentRef(ref).withConditions(
                cond("Accepted", refusal == null ? "True" : "False", refusal == null ? "Accepted" : refusal, generation),
                cond("ResolvedRefs", "True", "ResolvedRefs", generation)).build());
          }
          var current = r.getStatus() == null ? List.of() : r.getStatus().getParents();
          if (!sameConditions(current, parents)) {
            r.setStatus(new io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteStatusBuilder()
                .withParents(parents).build());
            try {
              client.resources(HTTPRoute.class).inNamespace(r.getMetadata().getNamespace()).resource(r).updateStatus();
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
              // a conflict or a route deleted meanwhile: the next pass sees the current state
            }
          }
        }
      } catch (RuntimeException e) {
        // the API server is stopping at the end of the class
      }
    }

    private static boolean sameConditions(List<?> current, List<io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus> want) {
      if (current.size() != want.size()) {
        return false;
      }
      for (int i = 0; i < want.size(); i++) {
        var c = (io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus) current.get(i);
        var w = want.get(i);
        if (!java.util.Objects.equals(c.getParentRef(), w.getParentRef())) {
          return false;
        }
        for (var wc : w.getConditions()) {
          boolean found = c.getConditions().stream().anyMatch(cc -> cc.getType().equals(wc.getType())
              && cc.getStatus().equals(wc.getStatus()) && cc.getReason().equals(wc.getReason())
              && java.util.Objects.equals(cc.getObservedGeneration(), wc.getObservedGeneration()));
          if (!found) {
            return false;
          }
        }
      }
      return true;
    }

    static io.fabric8.kubernetes.api.model.Condition cond(String type, String status, String reason, long generation) {
      return new ConditionBuilder().withType(type).withStatus(status).withReason(reason)
          .withMessage("set by the test's Gateway controller").withObservedGeneration(generation)
          .withLastTransitionTime("2026-12-07T00:00:00Z").build();
    }

    @Override
    public void close() {
      loop.shutdownNow();
    }
  }
}
