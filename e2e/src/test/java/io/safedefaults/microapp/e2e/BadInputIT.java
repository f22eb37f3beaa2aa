package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.safedefaults.microapp.api.MicroApp;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input: unsafe specs are rejected at admission by the CRD's schema and CEL rules with a
 * message naming the field; a valid spec the cluster policy forbids is reported in status and
 * gets no Ingress.
 */
@Order(3)
class BadInputIT extends E2ETestBase {

  static String ns;

  @BeforeAll
  static void namespace() {
    ns = newNamespace("badinput");
  }

  /** A valid private app; each case below changes one thing. */
  static String microApp(String name, String specExtra, String authExtra) {
    return """
        apiVersion: safedefaults.io/v1alpha1
        kind: MicroApp
        metadata:
          name: %s
        spec:
          image: ghcr.io/acme/where2eat:1.4.2
          host: %s.apps.example.com
        %s
          auth:
            allowedGroups: [food-team]
        %s
        """.formatted(name, name, indent(specExtra, 2), indent(authExtra, 4));
  }

  private static String indent(String s, int n) {
    return s.isEmpty() ? "" : s.lines().map(l -> " ".repeat(n) + l).reduce((a, b) -> a + "\n" + b).orElse("");
  }

  static Stream<Arguments> rejectedSpecs() {
    return Stream.of(
        Arguments.of("public-without-override", "visibility: public", "", "spec.visibility"),
        Arguments.of("long-session", "", "sessionTTL: 48h", "sessionTTL"),
        Arguments.of("bad-host", "", "", "spec.host"),
        Arguments.of("port-out-of-range", "port: 70000", "", "spec.port"),
        Arguments.of("relative-admin-path", "", "adminPaths: [\"admin\"]", "adminPaths"),
        Arguments.of("zero-retention", "retention:\n  ttl: 0d", "", "retention.ttl"),
        // Found by SpecContractIT: each was accepted, then refused by the sidecar or the API server.
        Arguments.of("ip-host", "", "", "spec.host"),
        Arguments.of("admin-path-with-space", "", "adminPaths: [\"/admin panel\"]", "adminPaths"),
        Arguments.of("admin-path-inner-subtree", "", "adminPaths: [\"/**/export\"]", "adminPaths"),
        Arguments.of("issuer-not-a-url", "", "issuer: \"https://login.example.com/a|b\"", "spec.auth.issuer"),
        Arguments.of("secrets-over-tmp", "secrets:\n  mountPath: /tmp", "", "spec.secrets.mountPath"),
        Arguments.of("export-path-dot-segment", "retention:\n  exportPath: /me/.", "", "spec.retention.exportPath"));
  }

  @ParameterizedTest(name = "{0} is rejected naming {3}")
  @MethodSource("rejectedSpecs")
  void unsafeSpecIsRejectedAtAdmission(String name, String specExtra, String authExtra, String field) {
    String yaml = microApp(name, specExtra, authExtra);
    String badHost = Map.of("bad-host", "Not_A_Host", "ip-host", "10.1.2.3").get(name);
    if (badHost != null) {
      yaml = yaml.replace("host: " + name + ".apps.example.com", "host: " + badHost);
    }
    Kubectl.Result r = applyYaml(yaml, ns);
    assertThat(r.exitCode()).as("kubectl apply exit code; manifest:\n%s\nstdout: %s", yaml, r.stdout()).isNotZero();
    assertThat(r.stderr()).as("kubectl apply stderr").contains(field);
    assertThat(client().resources(MicroApp.class).inNamespace(ns).withName(name).get()).as("MicroApp stored").isNull();
  }

  @Test
  void validSpecIsAcceptedByTheSameTemplate() {
    // Guards the cases above: they fail for their one change, not because the template is broken.
    String yaml = microApp("baseline", "", "");
    applyYaml(yaml, ns).orFail();
    kubectl().run("delete", "microapp", "baseline", "-n", ns, "--wait=false").orFail();
  }

  @Test
  void overrideTheClusterPolicyForbidsIsReportedAndGetsNoIngress() {
    String name = "relaxed-netpol";
    String yaml = microApp(name, """
        overrides:
          - setting: networkPolicy
            justification: "called by every namespace's batch jobs, no personal data"
        """.strip(), "");
    applyYaml(yaml, ns).orFail();
    MicroApp[] last = new MicroApp[1];
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
        last[0] = microApp(ns, name);
        return "False".equals(conditionStatus(last[0], "Ready"));
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("expected Ready=False for a forbidden override; status: " + describeStatus(last[0]), e);
    }
    var ready = condition(last[0], "Ready").orElseThrow();
    assertThat(ready.getReason() + " " + ready.getMessage()).as("Ready condition names the override; %s", describeStatus(last[0]))
        .contains("networkPolicy");
    // Give a wrongly-eager operator time to create it anyway.
    QuietResyncIT.sleep(Duration.ofSeconds(5));
    assertThat(client().network().v1().ingresses().inNamespace(ns).withName(name).get()).as("Ingress of a rejected app").isNull();
    assertOperatorAlive();
  }
}
