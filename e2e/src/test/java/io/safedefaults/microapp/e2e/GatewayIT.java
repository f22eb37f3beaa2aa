package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Gateway mode end to end, through a real Gateway implementation: the node's Traefik with its
 * {@code kubernetesGateway} provider. The test plays the platform team (README, "Gateway API"): a
 * GatewayClass {@code traefik}, a Gateway in {@code ingress-system} with an HTTPS listener whose
 * certificate the node's cert-manager issues (a Certificate in the Gateway's namespace, the
 * platform's wildcard for the team's hosts) and an HTTP listener, and a MicroAppPolicy that puts one
 * labelled namespace in gateway mode while the operator runs (no restart, no flag). Traefik's
 * provider attaches a listener only to the entryPoint of the same port, so the listeners use the
 * ports of its {@code websecure} (8443) and {@code web} (8000) entryPoints, which the node's 443
 * and 80 reach.
 *
 * <p>The routes' status is Traefik's own, the TLS certificate is checked against the cluster CA and
 * the host name, and no Ingress exists for the host: every answer below came through the Gateway.
 */
@Order(9)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayIT extends E2ETestBase {

  static final String GATEWAY_NS = "ingress-system";
  static final String GATEWAY = "microapp-e2e"; // in e2e/stack/values.yaml's exposure.allowedGateways
  static final String CLASS = "traefik";
  static final String TRAEFIK = "traefik.io/gateway-controller";
  static final String CERT = "microapp-e2e-gateway";
  static final String PROBE = "gateway-probe";
  static final ObjectMapper JSON = new ObjectMapper();

  static String ns;
  static String host;
  static String policyName;
  static boolean createdClass;

  @BeforeAll
  static void platformGatewayAndAnAppInGatewayMode() {
    ns = newNamespace("gateway");
    host = appHost("where2eat", ns);
    policyName = "gw-" + ns;
    createdClass = kubectl().run("get", "gatewayclass", CLASS).exitCode() != 0;
    String hostnames = "*." + ns + ".apps.example.com";
    String routesFrom = "allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {e2e-gateway: " + policyName
        + "}}}}";
    String platform = (createdClass ? """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: %1$s}
        spec: {controllerName: %2$s}
        ---
        """ : "") + """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: %3$s, namespace: %4$s}
        spec:
          secretName: %3$s-tls
          dnsNames: ["%5$s"]
          issuerRef: {kind: ClusterIssuer, name: microapp-local-ca}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: %6$s, namespace: %4$s}
        spec:
          gatewayClassName: %1$s
          listeners:
          - name: https
            protocol: HTTPS
            port: 8443
            hostname: "%5$s"
            tls: {mode: Terminate, certificateRefs: [{kind: Secret, group: "", name: %3$s-tls}]}
            %7$s
          - name: http
            protocol: HTTP
            port: 8000
            hostname: "%5$s"
            %7$s
        """;
    kubectl().runWithInput(platform.formatted(CLASS, TRAEFIK, CERT, GATEWAY_NS, hostnames, GATEWAY, routesFrom), "apply", "-f", "-")
        .orFail();
    kubectl().run(null, Duration.ofSeconds(100), "-n", GATEWAY_NS, "wait", "--for=condition=Ready", "certificate/" + CERT,
        "--timeout=90s").orFail();

    MicroAppPolicy policy = new MicroAppPolicy();
    policy.setMetadata(new ObjectMetaBuilder().withName(policyName).build());
    policy.setSpec(new MicroAppPolicySpec());
    policy.getSpec().setNamespaceSelector(NamespaceSelector.labels(Map.of("e2e-gateway", policyName)));
    var exposure = new MicroAppPolicySpec.ExposureSpec();
    exposure.setMode(MicroAppPolicySpec.ExposureMode.GATEWAY);
    var gateway = new MicroAppPolicySpec.GatewayRef();
    gateway.setName(GATEWAY);
    gateway.setNamespace(GATEWAY_NS);
    gateway.setHttpsListener("https");
    gateway.setHttpListener("http");
    gateway.setDataPlaneNamespaces(List.of(GATEWAY_NS)); // Traefik is its own data plane
    exposure.setGateway(gateway);
    policy.getSpec().setExposure(exposure);
    client().resource(policy).create();
    client().namespaces().withName(ns).edit(n -> {
      n.getMetadata().getLabels().put("e2e-gateway", policyName);
      return n;
    });

    applyExampleIn("where2eat.yaml", ns).orFail();
    String probe = readFile("e2e/apps/netprobe.yaml").replace("name: netprobe", "name: " + PROBE);
    kubectl().runWithInput(probe, "apply", "-n", GATEWAY_NS, "-f", "-").orFail();
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    kubectl().run(null, Duration.ofSeconds(120), "-n", GATEWAY_NS, "wait", "--for=condition=Ready", "pod/" + PROBE,
        "--timeout=110s").orFail();
  }

  /** Everything the class made outside its namespace goes, so the rest of the suite sees the platform as it was. */
  @AfterAll
  static void removeThePlatformsGateway() {
    if (ns != null) {
      client().resources(MicroApp.class).inNamespace(ns).withName("where2eat").delete();
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
          .until(() -> kubectl().run("-n", ns, "get", "httproutes", "-o", "name").stdout().isBlank());
    }
    if (policyName != null) {
      client().resources(MicroAppPolicy.class).withName(policyName).delete();
    }
    kubectl().run("-n", GATEWAY_NS, "delete", "pod", PROBE, "--ignore-not-found", "--wait=false");
    kubectl().run("-n", GATEWAY_NS, "delete", "gateway", GATEWAY, "--ignore-not-found");
    kubectl().run("-n", GATEWAY_NS, "delete", "certificate", CERT, "--ignore-not-found");
    kubectl().run("-n", GATEWAY_NS, "delete", "secret", CERT + "-tls", "--ignore-not-found");
    if (createdClass) {
      kubectl().run("delete", "gatewayclass", CLASS, "--ignore-not-found");
    }
  }

  static String readFile(String path) {
    try {
      return java.nio.file.Files.readString(repoRoot().resolve(path));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static JsonNode get(String namespace, String kind, String name) throws Exception {
    return JSON.readTree(kubectl().run("-n", namespace, "get", kind, name, "-o", "json").orFail().stdout());
  }

  /** The condition Traefik wrote for our Gateway in a route's {@code status.parents}, or a missing node. */
  static JsonNode traefikCondition(JsonNode route, String type) {
    for (JsonNode parent : route.path("status").path("parents")) {
      if (TRAEFIK.equals(parent.path("controllerName").asText()) && GATEWAY.equals(parent.path("parentRef").path("name").asText())
          && GATEWAY_NS.equals(parent.path("parentRef").path("namespace").asText())) {
        for (JsonNode c : parent.path("conditions")) {
          if (type.equals(c.path("type").asText())) {
            return c;
          }
        }
      }
    }
    return JSON.missingNode();
  }

  @Test
  @Order(1)
  void bothRoutesAreAcceptedByTraefikAndTheAppIsReadyWithTlsFromTheGateway() throws Exception {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      for (String route : List.of("where2eat-https", "where2eat-http")) {
        JsonNode r = get(ns, "httproute", route);
        long generation = r.path("metadata").path("generation").asLong();
        for (String type : List.of("Accepted", "ResolvedRefs")) {
          JsonNode c = traefikCondition(r, type);
          assertThat(c.path("status").asText()).as("%s %s from Traefik: %s", route, type, r.path("status")).isEqualTo("True");
          assertThat(c.path("observedGeneration").asLong()).as("%s %s for the route's generation", route, type)
              .isEqualTo(generation);
        }
        assertThat(r.path("spec").path("hostnames")).as(route).hasSize(1);
        assertThat(r.path("spec").path("hostnames").get(0).asText()).isEqualTo(host);
      }
    });
    JsonNode https = get(ns, "httproute", "where2eat-https");
    assertThat(https.path("spec").path("parentRefs").get(0).path("sectionName").asText()).isEqualTo("https");
    JsonNode backends = https.path("spec").path("rules").get(0).path("backendRefs");
    assertThat(backends).hasSize(1);
    assertThat(backends.get(0).path("name").asText()).isEqualTo("where2eat");
    assertThat(backends.get(0).path("port").asInt()).isEqualTo(80);
    JsonNode http = get(ns, "httproute", "where2eat-http");
    assertThat(http.path("spec").path("parentRefs").get(0).path("sectionName").asText()).isEqualTo("http");
    assertThat(http.path("spec").path("rules").get(0).has("backendRefs")).as("the HTTP route has no backend").isFalse();

    // The Gateway's listeners as Traefik reports them: both attached, the certificate resolved.
    JsonNode gw = get(GATEWAY_NS, "gateway", GATEWAY);
    for (JsonNode l : gw.path("status").path("listeners")) {
      assertThat(l.path("attachedRoutes").asInt()).as("routes attached to listener %s", l.path("name")).isGreaterThanOrEqualTo(1);
    }

    MicroApp app = awaitReady(ns, "where2eat", Duration.ofSeconds(60));
    assertThat(conditionStatus(app, "TLSEnforced")).as(describeStatus(app)).isEqualTo("True");
    assertThat(condition(app, "TLSEnforced").orElseThrow().getMessage()).as(describeStatus(app))
        .contains("https://" + host, "Gateway " + GATEWAY_NS + "/" + GATEWAY, "301", "HSTS");
    assertThat(client().network().v1().ingresses().inNamespace(ns).list().getItems())
        .as("gateway mode writes no Ingress").isEmpty();
    assertThat(MultiTenantIT.routing(host)).as("no Ingress anywhere for the host: answers come through the Gateway").isEmpty();
  }

  @Test
  @Order(2)
  void throughTheGatewayABrowserIsSentToSignInOverHttpsPlainHttpOnlyRedirectsAndAMemberGetsIn() {
    // HTTPS at the node's 443 (Traefik's websecure entryPoint, the Gateway's https listener), the
    // certificate cert-manager issued for the Gateway, checked against the cluster CA and the host.
    IngressHttp.Response anonymous = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .ignoreExceptions().until(() -> ingress().get("https://" + host + "/", "Accept: text/html"), r -> r.status() == 302);
    assertThat(anonymous.header("location")).as(anonymous.toString())
        .hasValueSatisfying(l -> assertThat(l).startsWith("https://login.example.com/realms/acme/authorize?")
            .contains("client_id=where2eat"));
    assertThat(anonymous.headers("strict-transport-security")).as("HSTS set at the edge and by the sidecar: one value")
        .containsExactly("max-age=31536000; includeSubDomains");
    assertThat(anonymous.body()).as("no app content before sign-in").doesNotContainIgnoringCase("where2eat");

    // An API client: 401 from the sidecar, still with HSTS; a deep path is no way around sign-in.
    IngressHttp.Response api = ingress().get("https://" + host + "/api/places", "Accept: application/json");
    assertThat(api.status()).as(api.toString()).isEqualTo(401);
    assertThat(api.headers("strict-transport-security")).containsExactly("max-age=31536000; includeSubDomains");

    // Plain HTTP at the node's 80 (the web entryPoint, the Gateway's http listener): only a 301.
    for (String path : List.of("/", "/admin?x=1", "/api/places")) {
      IngressHttp.Response plain = ingress().get("http://" + host + path);
      assertThat(plain.status()).as(plain.toString()).isEqualTo(301);
      assertThat(plain.header("location")).as(plain.toString()).hasValue("https://" + host + path);
      assertThat(plain.body()).as("nothing served over plain HTTP").doesNotContainIgnoringCase("where2eat");
    }

    // A member signs in (the provider behind the Ingress, the callback and the app through the
    // Gateway) and gets the app's page; every answer of the app's host carries one HSTS value.
    SignIn browser = new SignIn(ingress());
    IngressHttp.Response page = browser.open("https://" + host + "/", "ann-sub", SignInIT.ANN);
    assertThat(page.status()).as(page.toString()).isEqualTo(200);
    assertThat(page.body()).contains("Signed in as <strong>ann</strong>");
    assertThat(browser.history()).filteredOn(x -> x.url().startsWith("https://" + host)).hasSizeGreaterThanOrEqualTo(2)
        .allSatisfy(x -> assertThat(x.response().headers("strict-transport-security")).as("HSTS on %s", x.url())
            .containsExactly("max-age=31536000; includeSubDomains"));
  }

  /** Probe from Traefik's namespace (the data plane the policy named): `where2eat probe` in a restricted pod there. */
  static Kubectl.Result probe(String... args) {
    List<String> all = new ArrayList<>(List.of("-n", GATEWAY_NS, "exec", PROBE, "--", "/where2eat", "probe"));
    all.addAll(List.of(args));
    return kubectl().run(null, Duration.ofSeconds(30), all.toArray(String[]::new));
  }

  @Test
  @Order(3)
  void theServicePortTheRouteUsesIsTheSidecarAndOnlyTheDataPlaneReachesIt() throws Exception {
    JsonNode svc = get(ns, "service", "where2eat");
    assertThat(svc.path("spec").path("ports")).as("the Service's only port").hasSize(1);
    assertThat(svc.path("spec").path("ports").get(0).path("port").asInt()).isEqualTo(80);
    JsonNode policy = get(ns, "networkpolicy", "where2eat");
    assertThat(policy.path("spec").path("ingress").toString()).as("the NetworkPolicy admits the Gateway's data plane")
        .contains("\"kubernetes.io/metadata.name\":\"" + GATEWAY_NS + "\"").contains("4180").doesNotContain("8080");

    // What Traefik reaches at the route's backend (Service port 80) is the sidecar: without a session
    // even the app's own unauthenticated /healthz (200 from the app container) is the sidecar's 401.
    String service = "http://where2eat." + ns + ".svc.cluster.local";
    for (String path : List.of("/", "/healthz", "/api/places")) {
      Kubectl.Result viaService = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(2))
          .until(() -> probe(service + path), Kubectl.Result::ok);
      assertThat(viaService.stdout()).as(viaService + "\nstdout: " + viaService.stdout())
          .startsWith("OK HTTP 401 " + service + path + " ");
    }
    // The app container's own port is closed even to the data plane's namespace.
    String podIp = runningPod(ns, "where2eat").getStatus().getPodIP();
    assertThat(probe("tcp://" + podIp + ":8080", "--timeout", "3s").ok()).as("from %s to the app port 8080", GATEWAY_NS).isFalse();
    assertThat(probe("tcp://" + podIp + ":4180", "--timeout", "3s").ok()).as("from %s to the sidecar port 4180", GATEWAY_NS).isTrue();
  }

  /** {@code kubectl patch --type=json} of the platform's Gateway. */
  static void patchGateway(String jsonPatch) {
    kubectl().run("-n", GATEWAY_NS, "patch", "gateway", GATEWAY, "--type=json", "-p", jsonPatch).orFail();
  }

  static void awaitTls(String status, String reason, String... says) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().untilAsserted(() -> {
      MicroApp app = microApp(ns, "where2eat");
      var tls = condition(app, "TLSEnforced").orElseThrow();
      assertThat(tls.getStatus()).as(describeStatus(app)).isEqualTo(status);
      assertThat(tls.getReason()).as(describeStatus(app)).isEqualTo(reason);
      assertThat(tls.getMessage()).as(describeStatus(app)).contains(says);
      assertThat(conditionStatus(app, "Ready")).as(describeStatus(app)).isEqualTo(status);
    });
  }

  /**
   * Traefik's own refusals, followed by the app's status: the platform narrows the HTTPS listener's
   * allowedRoutes (Traefik: Accepted=False NotAllowedByListeners on the route, and no router: its
   * 404), then points the listener at a certificate Secret that does not exist (Traefik leaves the
   * listener out and marks its routes NoMatchingParent; the status names the certificate, which is
   * the cause), then puts everything back: Ready again and the sign-in redirect through the Gateway.
   */
  @Test
  @Order(4)
  void whatTraefikRefusesIsTheAppsStatusNeverReadyAndNothingIsServed() {
    String selector = "/spec/listeners/0/allowedRoutes/namespaces/selector/matchLabels/e2e-gateway";
    patchGateway("[{\"op\":\"replace\",\"path\":\"" + selector + "\",\"value\":\"nobody\"}]");
    try {
      awaitTls("False", "RouteRefused", "HTTPRoute where2eat-https", "Gateway " + GATEWAY_NS + "/" + GATEWAY,
          "Accepted=False, reason NotAllowedByListeners", "namespace " + ns);
      IngressHttp.Response refused = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1))
          .ignoreExceptions().until(() -> ingress().get("https://" + host + "/", "Accept: text/html"), r -> r.status() == 404);
      assertThat(refused.header("location")).as("no way to the app while the route is refused").isEmpty();
    } finally {
      patchGateway("[{\"op\":\"replace\",\"path\":\"" + selector + "\",\"value\":\"" + policyName + "\"}]");
    }
    awaitReady(ns, "where2eat", Duration.ofSeconds(60));

    String certRef = "/spec/listeners/0/tls/certificateRefs/0/name";
    patchGateway("[{\"op\":\"replace\",\"path\":\"" + certRef + "\",\"value\":\"" + CERT + "-missing\"}]");
    try {
      awaitTls("False", "GatewayCertificateNotReady", "Gateway " + GATEWAY_NS + "/" + GATEWAY + " listener 'https'",
          "ResolvedRefs=False, reason InvalidCertificateRef");
      assertThat(traefikCondition(get(ns, "httproute", "where2eat-https"), "Accepted").path("reason").asText())
          .as("what Traefik itself says of the route").isEqualTo("NoMatchingParent");
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      patchGateway("[{\"op\":\"replace\",\"path\":\"" + certRef + "\",\"value\":\"" + CERT + "-tls\"}]");
    }
    MicroApp back = awaitReady(ns, "where2eat", Duration.ofSeconds(60));
    assertThat(conditionStatus(back, "TLSEnforced")).isEqualTo("True");
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
        .until(() -> ingress().get("https://" + host + "/", "Accept: text/html").status() == 302);
  }
}
