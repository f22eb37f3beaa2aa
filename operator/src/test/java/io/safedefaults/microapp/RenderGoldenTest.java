package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * `render` of each example against golden files: any change to what the operator creates shows up
 * as a reviewable diff. Regenerate with -Dgolden.update=true and read the diff before committing.
 */
class RenderGoldenTest {
  static final String[] FLAGS = {"--cluster-issuer", "letsencrypt", "--default-issuer", "https://login.example.com/realms/acme"};

  @ParameterizedTest
  @ValueSource(strings = {"where2eat", "landing-page"})
  void renderMatchesGoldenFile(String example) throws Exception {
    Path input = TestFiles.repoFile("examples/" + example + ".yaml");
    Result r = run("render", "-f", input.toString(), FLAGS[0], FLAGS[1], FLAGS[2], FLAGS[3]);
    assertThat(r.code).as(r.err).isZero();
    assertMatchesGolden(r.out, example);
    assertThat(r.out).doesNotContain("AesGcmKey").contains(ManifestRenderer.KEY_PLACEHOLDER);
    // without --oidc-ca-file nothing about a provider CA appears (the files above predate it)
    assertThat(r.out).doesNotContain("caFile").doesNotContain("oidc-ca.pem");
  }

  private static void assertMatchesGolden(String out, String name) throws Exception {
    Path golden = Path.of("src/test/resources/golden/" + name + ".yaml");
    if (Boolean.getBoolean("golden.update")) {
      Files.createDirectories(golden.getParent());
      Files.writeString(golden, out);
    }
    assertThat(out).isEqualTo(Files.readString(golden));
  }

  /**
   * Gateway mode: the two routes instead of the Ingress, last; HSTS at the edge with the sidecar's
   * own value; the NetworkPolicy admits the Gateway's data plane instead of the ingress controller.
   */
  @Test
  void gatewayModeRendersTheTwoRoutesInsteadOfTheIngress() throws Exception {
    Result r = run("render", "-f", TestFiles.repoFile("examples/where2eat.yaml").toString(), FLAGS[0], FLAGS[1],
        FLAGS[2], FLAGS[3], "--exposure", "gateway", "--gateway-name", "public", "--gateway-namespace",
        "gateway-system", "--gateway-data-plane-namespaces", "envoy-gateway-system");
    assertThat(r.code).as(r.err).isZero();
    assertMatchesGolden(r.out, "where2eat-gateway");
    assertThat(r.out).doesNotContain("kind: Ingress").doesNotContain("ingress-nginx")
        .contains("kubernetes.io/metadata.name: envoy-gateway-system")
        .contains("value: " + io.safedefaults.microapp.auth.SidecarConfig.HSTS)
        .contains("statusCode: 301");
    assertThat(r.out.lastIndexOf("kind: HTTPRoute")).isGreaterThan(r.out.lastIndexOf("kind: CronJob"));
  }

  /**
   * Gateway mode with Envoy Gateway's edge limit: the app's BackendTrafficPolicy after the routes,
   * on the HTTPS route only, with the plan's per-IP figure per minute for every client address.
   */
  @Test
  void envoyGatewayEdgeLimitsRenderTheBackendTrafficPolicyAfterTheRoutes() throws Exception {
    Result r = run("render", "-f", TestFiles.repoFile("examples/where2eat.yaml").toString(), FLAGS[0], FLAGS[1],
        FLAGS[2], FLAGS[3], "--exposure", "gateway", "--gateway-name", "public", "--gateway-namespace",
        "gateway-system", "--gateway-data-plane-namespaces", "envoy-gateway-system",
        "--gateway-edge-limits", "envoy-gateway");
    assertThat(r.code).as(r.err).isZero();
    assertMatchesGolden(r.out, "where2eat-gateway-envoy");
    assertThat(r.out).contains("kind: BackendTrafficPolicy").contains("name: where2eat-https")
        .contains("value: 0.0.0.0/0").contains("value: ::/0").contains("unit: Minute");
    assertThat(r.out.lastIndexOf("\nkind: BackendTrafficPolicy")).isGreaterThan(r.out.lastIndexOf("\nkind: HTTPRoute"));
    Result none = run("render", "-f", TestFiles.repoFile("examples/where2eat.yaml").toString(), FLAGS[0], FLAGS[1],
        FLAGS[2], FLAGS[3], "--exposure", "gateway", "--gateway-name", "public", "--gateway-namespace",
        "gateway-system", "--gateway-data-plane-namespaces", "envoy-gateway-system");
    assertThat(r.out).startsWith(none.out.substring(0, none.out.length() - 1));
    assertThat(none.out).doesNotContain("BackendTrafficPolicy");
    Result bad = run("render", "-f", TestFiles.repoFile("examples/where2eat.yaml").toString(),
        "--gateway-edge-limits", "istio");
    assertThat(bad.code).isEqualTo(2);
    assertThat(bad.err).contains("--gateway-edge-limits: 'istio' is not one of none, envoy-gateway");
  }

  @Test
  void aProviderCaReachesTheSidecarConfigMapAndItsHash() throws Exception {
    Path ca = Path.of("src/test/resources/oidc-ca/acme-test-root-ca.pem");
    Result r = run("render", "-f", TestFiles.repoFile("examples/where2eat.yaml").toString(), FLAGS[0], FLAGS[1], FLAGS[2],
        FLAGS[3], "--oidc-ca-file", ca.toString());
    assertThat(r.code).as(r.err).isZero();
    assertMatchesGolden(r.out, "where2eat-oidc-ca");
    assertThat(r.out).contains("oidc-ca.pem: |").contains("\"caFile\" : \"/etc/microapp-sidecar/oidc-ca.pem\"");
  }

  @Test
  void aBadOidcCaFileStopsWithOneLineNamingTheFlag() {
    Path leaf = Path.of("src/test/resources/oidc-ca/provider-certificate.pem");
    Result r = run("render", "-f", TestFiles.repoFile("examples/where2eat.yaml").toString(), "--oidc-ca-file",
        leaf.toString());
    assertThat(r.code).isEqualTo(2);
    assertThat(r.out).isEmpty();
    assertThat(r.err.lines().toList()).singleElement().satisfies(line -> assertThat(line)
        .startsWith("render: --oidc-ca-file " + leaf + " certificate 1 is not a CA certificate"));
  }

  @Test
  void trustedProxiesReachTheSidecarConfig() throws Exception {
    Result r = run("render", "-f", TestFiles.repoFile("examples/where2eat.yaml").toString(), FLAGS[0], FLAGS[1],
        "--trusted-proxy-cidrs", "10.244.0.0/16, fd00::/8");
    assertThat(r.code).as(r.err).isZero();
    assertThat(r.out).contains("\"trustedProxyCidrs\" : [ \"10.244.0.0/16\", \"fd00::/8\" ]");
  }

  @Test
  void unknownFieldIsAnErrorNamingIt(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path f = dir.resolve("typo.yaml");
    Files.writeString(f, """
        apiVersion: safedefaults.io/v1alpha1
        kind: MicroApp
        metadata: {name: notes, namespace: ns}
        spec:
          image: img:1
          auth:
            alowedGroups: [team]
        """);
    Result r = run("render", "-f", f.toString());
    assertThat(r.code).isEqualTo(2);
    assertThat(r.err).contains("unknown field 'alowedGroups'").contains("kubectl explain");
    assertThat(r.out).isEmpty();
  }

  @Test
  void problemsAreWarnedAndTheIngressWithheld(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path f = dir.resolve("noissuer.yaml");
    Files.writeString(f, """
        apiVersion: safedefaults.io/v1alpha1
        kind: MicroApp
        metadata: {name: notes, namespace: ns}
        spec: {image: "img:1", host: notes.example.com, visibility: organization}
        """);
    Result r = run("render", "-f", f.toString(), "--cluster-issuer", "le");
    assertThat(r.code).isZero();
    assertThat(r.err).contains("warning: ns/notes: spec.auth.issuer is not set");
    assertThat(r.out).contains("kind: Deployment\n").doesNotContain("kind: Ingress");
    // as kubectl prints it: plain strings bare, quoted only where they would read as a number or boolean
    assertThat(r.out).contains("name: notes\n").contains("- name: MALLOC_ARENA_MAX\n          value: '2'\n");
  }

  @Test
  void badPolicyFlagsNameTheFlag() {
    Result r = run("render", "-f", "x.yaml", "--max-session-ttl", "forever");
    assertThat(r.code).isEqualTo(2);
    assertThat(r.err).contains("--max-session-ttl").contains("forever");
    Result r2 = run("render", "-f", "x.yaml", "--allowed-overrides", "visibility,everything");
    assertThat(r2.err).contains("--allowed-overrides: 'everything' is not one of");
    Result r3 = run("render", "-f", "x.yaml", "--default-limits", "2000,10,60");
    assertThat(r3.err).contains("--default-limits 2000,10,60 must not exceed --max-limits 1000,100,600");
    Result r4 = run("render", "-f", "x.yaml", "--trusted-proxy-cidrs", "10.244.0.0/16,everyone");
    assertThat(r4.err).contains("--trusted-proxy-cidrs: 'everyone' is not a CIDR");
  }

  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void renderWithoutFileIsAUsageError() {
    Result r = run("render");
    assertThat(r.code).isEqualTo(2);
    assertThat(r.err).contains("Missing required option: '--file=<file>'");
  }
}
