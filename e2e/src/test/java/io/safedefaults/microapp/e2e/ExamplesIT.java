package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.safedefaults.microapp.api.MicroApp;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The examples exactly as a newcomer applies them ({@code kubectl apply -f examples/...}, in
 * their own namespace team-food), and the justified override of landing-page.yaml.
 */
@Order(4)
class ExamplesIT extends E2ETestBase {

  static final String NS = "team-food";
  static boolean createdNamespace;

  @BeforeAll
  static void applyExamples() {
    createdNamespace = client().namespaces().withName(NS).get() == null;
    for (String file : List.of("00-namespace.yaml", "where2eat.yaml", "landing-page.yaml")) {
      kubectl().run("apply", "-f", repoRoot().resolve("examples").resolve(file).toString()).orFail();
    }
  }

  @AfterAll
  static void cleanUp() {
    kubectl().run("delete", "-f", repoRoot().resolve("examples/landing-page.yaml").toString(), "--ignore-not-found", "--wait=false");
    kubectl().run("delete", "-f", repoRoot().resolve("examples/where2eat.yaml").toString(), "--ignore-not-found", "--wait=false");
    if (createdNamespace) {
      kubectl().run("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
    }
  }

  /** A pod's first start on the node: image already imported, the sidecar's JVM, the provider's discovery. */
  static final Duration READY = Duration.ofSeconds(180);

  @Test
  void examplesAsWrittenBecomeReadyAndAnswerThroughTheIngressController() {
    awaitReady(NS, "where2eat", READY);
    awaitReady(NS, "landing", READY);
    // where2eat is private: a browser is sent to the provider to sign in, over HTTPS with a
    // certificate cert-manager issued for the host (IngressHttp checks it against the cluster CA).
    IngressHttp.Response anonymous = await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> ingress().get("https://where2eat.apps.example.com/", "Accept: text/html"), r -> r.status() == 302);
    assertThat(anonymous.header("location")).as(anonymous.toString())
        .hasValueSatisfying(l -> assertThat(l).startsWith("https://login.example.com/realms/acme/authorize?"));
    assertThat(anonymous.header("strict-transport-security")).hasValue("max-age=31536000; includeSubDomains");
    // landing is public by a justified override: the page itself, still behind the sidecar's headers
    IngressHttp.Response landing = await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> ingress().get("https://landing.apps.example.com/", "Accept: text/html"), r -> r.status() == 200);
    assertThat(landing.header("strict-transport-security")).hasValue("max-age=31536000; includeSubDomains");
    assertThat(landing.header("x-content-type-options")).hasValue("nosniff");
    // plain HTTP is only ever a redirect to HTTPS (the Ingress's force-ssl-redirect)
    IngressHttp.Response http = ingress().get("http://where2eat.apps.example.com/admin?x=1");
    assertThat(http.status()).as(http.toString()).isIn(301, 308);
    assertThat(http.header("location")).hasValue("https://where2eat.apps.example.com/admin?x=1");
  }

  @Test
  void metricsCountAppsByChecklistScoreAndReadiness() throws Exception {
    awaitReady(NS, "where2eat", READY);
    awaitReady(NS, "landing", READY);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      String metrics = operator().metrics();
      // where2eat meets all nine items; landing relaxes two (visibility, retention) by justified override.
      assertThat(sample(metrics, "microapp_apps{checklist=\"9/10\",ready=\"true\"}")).isGreaterThanOrEqualTo(1);
      assertThat(sample(metrics, "microapp_apps{checklist=\"7/10\",ready=\"true\"}")).isGreaterThanOrEqualTo(1);
      assertThat(metrics).contains("operator_sdk_").doesNotContain("resource_name=");
    });
  }

  static double sample(String metrics, String series) {
    return metrics.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1)))
        .findFirst().orElse(0);
  }

  @Test
  void justifiedOverrideIsSurfacedAsConditionAndEvent() {
    MicroApp[] last = new MicroApp[1];
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
        last[0] = microApp(NS, "landing");
        return "True".equals(conditionStatus(last[0], "DefaultsRelaxed"));
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("expected DefaultsRelaxed=True on landing; status: " + describeStatus(last[0]), e);
    }
    assertThat(condition(last[0], "DefaultsRelaxed").orElseThrow().getMessage()).as(describeStatus(last[0]))
        .contains("visibility");

    await("Event DefaultsRelaxed on MicroApp landing").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1))
        .untilAsserted(() -> assertThat(client().v1().events().inNamespace(NS).list().getItems())
            .filteredOn(e -> e.getInvolvedObject() != null && "MicroApp".equals(e.getInvolvedObject().getKind())
                && "landing".equals(e.getInvolvedObject().getName()))
            .extracting(Event::getReason)
            .contains("DefaultsRelaxed"));
    // Announced once per transition, not once per reconcile (the operator resyncs every 10 s here).
    await().pollDelay(Duration.ofSeconds(12)).atMost(Duration.ofSeconds(20)).untilAsserted(() ->
        assertThat(client().v1().events().inNamespace(NS).list().getItems())
            .filteredOn(e -> e.getInvolvedObject() != null && "landing".equals(e.getInvolvedObject().getName())
                && "DefaultsRelaxed".equals(e.getReason()))
            .hasSize(1));
  }
}
