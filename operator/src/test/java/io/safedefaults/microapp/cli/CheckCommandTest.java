package io.safedefaults.microapp.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.SecretsSpec;
import io.safedefaults.microapp.secrets.SealedValue.Scope;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.SealingKeys;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check} as an app author's CI runs it: the examples pass with the checklist printed, bad
 * specs fail with the operator's own sentences, unreadable input stops with one line naming the
 * file and the field, and the JSON has a stable shape.
 */
class CheckCommandTest {
  static final String[] POLICY = {"--cluster-issuer", "letsencrypt"};
  static final Path EXAMPLES = Path.of(System.getProperty("repo.dir", "..")).resolve("examples");
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

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

  static String[] args(String[] policy, String... rest) {
    List<String> all = new ArrayList<>(List.of("check"));
    all.addAll(List.of(rest));
    all.addAll(List.of(policy));
    return all.toArray(String[]::new);
  }

  Path write(String name, String yaml) throws Exception {
    Path f = dir.resolve(name);
    Files.createDirectories(f.getParent());
    return Files.writeString(f, yaml);
  }

  static String yaml(MicroApp... apps) {
    StringBuilder b = new StringBuilder();
    for (MicroApp a : apps) {
      b.append(Serialization.asYaml(a));
    }
    return b.toString();
  }

  @Test
  void theExamplesDirectoryPassesWithEveryChecklistLine() {
    Result r = run(args(POLICY, "-f", EXAMPLES.toString()));
    assertThat(r.code).as(r.err).isZero();
    assertThat(r.err).isEmpty();
    List<String> lines = r.out.lines().toList();
    assertThat(lines.get(0)).contains("once applied");
    // the Namespace in 00-namespace.yaml is skipped; the apps come in file order
    assertThat(lines).containsSubsequence(
        "team-food/landing  (" + EXAMPLES.resolve("landing-page.yaml") + ")",
        "   1 signInRequired    RELAXED  PublicByOverride: anyone may use the app without signing in: public landing"
            + " page, no personal data and no forms",
        "   8 minimalRetention  RELAXED  PurgeOffByOverride: no scheduled purge: static page: stores no data, so there"
            + " is nothing to purge",
        "  7 passed, 3 relaxed, 0 failed of 10",
        "  => would be exposed at https://landing.apps.example.com",
        "team-food/where2eat  (" + EXAMPLES.resolve("where2eat.yaml") + ")",
        "   2 mfaForAdminPaths  PASS     MfaOnAdminPaths: MFA required on /admin/**, /export",
        "   5 tlsAndHsts        PASS     TLSEnforced: https://where2eat.apps.example.com with a certificate from"
            + " letsencrypt, HTTP redirected, HSTS from the sidecar",
        "   6 secretsSealed     PASS     NoSecrets: no secret values declared",
        "  10 safeOverrides     PASS     OverridesJustified: no defaults relaxed",
        "  11 imageScanned      RELAXED  ScanNotRequired: image scans are not required by the cluster policy"
            + " (operator flags) (imageScan.mode audit or enforce turns them on)",
        "  9 passed, 1 relaxed, 0 failed of 10",
        "  => would be exposed at https://where2eat.apps.example.com",
        "OK: all 2 app(s) would be Ready");
    // one line per checklist item, numbered as in the design (9 is the audit log: no item per app)
    assertThat(lines.stream().filter(l -> l.matches("^ {2}[ 1]\\d \\w+ +(PASS|FAIL|RELAXED) .*"))).hasSize(20);
  }

  /** Gateway mode needs no cluster issuer (the listener has the certificate) and says where the app is served. */
  @Test
  void gatewayModeChecksTheRoutesOnTheConfiguredGateway() {
    Result alone = run("check", "-f", EXAMPLES.resolve("where2eat.yaml").toString(), "--exposure", "gateway",
        "--gateway-name", "public", "--gateway-namespace", "gateway-system");
    // No edge limit on a Gateway without an adapter: per-IP limits need the sidecar to believe the proxies.
    assertThat(alone.code).isEqualTo(1);
    assertThat(alone.out).contains("NoPerIpLimit: no per-IP limit applies: no edge limit is written for Gateway"
        + " gateway-system/public");
    Result r = run("check", "-f", EXAMPLES.resolve("where2eat.yaml").toString(), "--exposure", "gateway",
        "--gateway-name", "public", "--gateway-namespace", "gateway-system", "--trusted-proxy-cidrs", "10.244.0.0/16");
    assertThat(r.code).as(r.out + r.err).isZero();
    assertThat(r.out).contains("   5 tlsAndHsts        PASS     TLSEnforced: https://where2eat.apps.example.com through"
        + " Gateway gateway-system/public (listener 'https', its certificate), HTTP redirected with 301, HSTS at the"
        + " edge and from the sidecar");
    // With Envoy Gateway's edge limit declared, the rendered BackendTrafficPolicy is taken as accepted offline.
    Result envoy = run("check", "-f", EXAMPLES.resolve("where2eat.yaml").toString(), "--exposure", "gateway",
        "--gateway-name", "public", "--gateway-namespace", "gateway-system", "--gateway-edge-limits", "envoy-gateway");
    assertThat(envoy.code).as(envoy.out + envoy.err).isZero();
    assertThat(envoy.out).contains("   4 rateLimits        PASS     Limited: 100/min per IP at the edge (Envoy Gateway BackendTrafficPolicy,"
        + " accepted), 60/min per user in the sidecar");
    Result bad = run("check", "-f", EXAMPLES.resolve("where2eat.yaml").toString(), "--exposure", "gateway");
    assertThat(bad.code).isEqualTo(2);
    assertThat(bad.err).contains("--gateway-name").contains("when exposure is gateway");
  }

  @Test
  void withoutAClusterIssuerAnAppWithAHostIsNotExposedAndTheExitCodeSaysSo() {
    Result r = run("check", "-f", EXAMPLES.resolve("where2eat.yaml").toString());
    assertThat(r.code).isEqualTo(1);
    assertThat(r.out).contains("   5 tlsAndHsts        FAIL     NotExposed: no Ingress until this is fixed: spec.host is"
        + " set but the operator has no cert-manager cluster issuer (--cluster-issuer)");
    assertThat(r.out).contains("  => would NOT be exposed: ClusterIssuerMissing: spec.host is set but the operator has"
        + " no cert-manager cluster issuer (--cluster-issuer), so no certificate can be issued; ask your platform"
        + " team to configure one, or remove spec.host");
    assertThat(r.out).contains("FAILED: 1 of 1 app(s) would not be Ready: team-food/where2eat");
    // the problem is already the failing item's message: not printed twice
    assertThat(r.out).doesNotContain("problem ");
  }

  @Test
  void badSpecsFailWithTheOperatorsSentenceNamingTheFieldAndTheFix() throws Exception {
    MicroApp publicNoOverride = TestApps.where2eat("team-a");
    publicNoOverride.getMetadata().setName("open");
    publicNoOverride.getSpec().setVisibility(io.safedefaults.microapp.api.Visibility.PUBLIC);
    MicroApp noPurge = TestApps.where2eat("team-a");
    noPurge.getMetadata().setName("hoarder");
    noPurge.getSpec().getRetention().setPurge(null);
    MicroApp noIssuer = TestApps.where2eat("team-a");
    noIssuer.getMetadata().setName("anon");
    noIssuer.getSpec().getAuth().setIssuer(null);
    MicroApp internal = TestApps.where2eat("team-a");
    internal.getMetadata().setName("internal");
    internal.getSpec().setHost(null);
    Path f = write("apps.yaml", yaml(publicNoOverride, noPurge, noIssuer, internal));

    Result r = run(args(POLICY, "-f", f.toString()));
    assertThat(r.code).isEqualTo(1);
    assertThat(r.out).contains("team-a/open", "   1 signInRequired    PASS     SignInRequired:");
    assertThat(r.out).contains("   8 minimalRetention  FAIL     NoPurgeTarget: spec.retention.purge: say how old data"
        + " is deleted (http, postgres or volume), or add a justified retention override if the app keeps no data");
    assertThat(r.out).contains("  => would be exposed at https://where2eat.apps.example.com, but not Ready:"
        + " NoPurgeTarget: spec.retention.purge:");
    assertThat(r.out).contains("   1 signInRequired    FAIL     IssuerMissing: spec.auth.issuer is not set and the"
        + " operator has no default issuer; set spec.auth.issuer to your OIDC provider's URL");
    assertThat(r.out).contains("  => would NOT be exposed: IssuerMissing: spec.auth.issuer is not set");
    assertThat(r.out).contains("team-a/internal", "  => not exposed: no spec.host, reachable only inside the cluster\n");
    assertThat(r.out).contains("FAILED: 2 of 4 app(s) would not be Ready: team-a/hoarder, team-a/anon");
  }

  @Test
  void aValueCappedToTheClusterMaximumIsReportedAsAProblemAndFailsTheCheck() throws Exception {
    MicroApp longSessions = TestApps.where2eat("team-a");
    longSessions.getSpec().getAuth().setSessionTTL("72h");
    Result r = run(args(POLICY, "-f", write("long.yaml", yaml(longSessions)).toString()));
    assertThat(r.code).isEqualTo(1);
    assertThat(r.out).contains("   3 shortSessions     PASS     ShortSessions: sessions last 12h");
    assertThat(r.out).contains("     problem                    SessionTTLTooLong: spec.auth.sessionTTL 72h is longer"
        + " than the maximum 12h of the cluster policy (operator flags)");
    assertThat(r.out).contains("  => would be exposed at https://where2eat.apps.example.com, but not Ready:"
        + " SessionTTLTooLong:");
  }

  @Test
  void sealedValuesAreCheckedForFormOnlyAndNeverPrinted() throws Exception {
    var keys = SealingKeys.generate();
    Sealer sealer = new Sealer(SealingKeys.publicKeys(keys));
    // sealed for another app: only the cluster can tell, so offline it is not claimed either way
    String elsewhere = sealer.seal("maps-key-123".getBytes(StandardCharsets.UTF_8), Scope.APP, "team-a", "other",
        "MAPS_API_KEY").text();
    MicroApp wellFormed = TestApps.where2eat("team-a");
    wellFormed.getSpec().setSecrets(new SecretsSpec());
    wellFormed.getSpec().getSecrets().setSealed(Map.of("MAPS_API_KEY", elsewhere));
    MicroApp malformed = TestApps.where2eat("team-a");
    malformed.getMetadata().setName("typo");
    malformed.getSpec().setSecrets(new SecretsSpec());
    malformed.getSpec().getSecrets().setSealed(Map.of("MAPS_API_KEY", "plaintext-maps-key-123"));
    malformed.getSpec().getAuth().setClientSecret(new io.safedefaults.microapp.api.SealedRef("plaintext-client-secret"));
    Result r = run(args(POLICY, "-f", write("sealed.yaml", yaml(wellFormed, malformed)).toString()));

    assertThat(r.code).isEqualTo(1);
    assertThat(r.out).contains("   6 secretsSealed     PASS     SealedWellFormed: 1 sealed value(s), each well-formed;"
        + " not opened offline: only the cluster's private key shows whether each was sealed for this app and key");
    assertThat(r.out).contains("   6 secretsSealed     FAIL     Malformed: spec.secrets.sealed.MAPS_API_KEY is not a"
        + " sealed value (expected v1:app:... or v1:ns:... from 'microapp-operator seal') (and 1 more)");
    // As in the operator: a value that does not open keeps its Secret, and so the Ingress, from being written.
    assertThat(r.out).contains("  => would NOT be exposed: Malformed: spec.secrets.sealed.MAPS_API_KEY is not a"
        + " sealed value");
    assertThat(r.out).doesNotContain("plaintext-maps-key-123").doesNotContain("plaintext-client-secret")
        .doesNotContain(elsewhere.substring(7, 40));
  }

  @Test
  void jsonHasAStableShapeForMachines() throws Exception {
    MicroApp noIssuer = TestApps.where2eat("team-a");
    noIssuer.getSpec().getAuth().setIssuer(null);
    Path f = write("apps/bad.yaml", yaml(noIssuer));
    Result r = run(args(POLICY, "-o", "json", "-f", EXAMPLES.resolve("where2eat.yaml").toString(), "-f",
        f.getParent().toString()));
    assertThat(r.code).isEqualTo(1);
    JsonNode root = JSON.readTree(r.out);
    assertThat(root.fieldNames()).toIterable().containsExactly("ok", "apps");
    assertThat(root.path("ok").asBoolean(true)).isFalse();
    assertThat(root.path("apps")).hasSize(2);
    for (JsonNode app : root.path("apps")) {
      assertThat(app.fieldNames()).toIterable().containsExactly("namespace", "name", "file", "host", "exposed", "url",
          "ready", "verdict", "checklist", "problems");
      assertThat(app.path("ready").fieldNames()).toIterable().containsExactly("status", "reason", "message");
      assertThat(app.path("checklist").fieldNames()).toIterable()
          .containsExactly("passed", "relaxed", "failed", "total", "items");
      assertThat(app.path("checklist").path("items")).extracting(i -> i.path("number").asInt())
          .containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 10, 11);
      for (JsonNode item : app.path("checklist").path("items")) {
        assertThat(item.fieldNames()).toIterable()
            .containsExactly("number", "key", "condition", "outcome", "reason", "message");
        assertThat(item.path("outcome").asText()).isIn("PASS", "FAIL", "RELAXED");
      }
    }
    JsonNode good = root.path("apps").get(0);
    assertThat(good.path("file").asText()).isEqualTo(EXAMPLES.resolve("where2eat.yaml").toString());
    assertThat(good.path("exposed").asBoolean()).isTrue();
    assertThat(good.path("url").asText()).isEqualTo("https://where2eat.apps.example.com");
    assertThat(good.path("ready").path("status").asBoolean()).isTrue();
    assertThat(good.path("problems")).isEmpty();

    JsonNode bad = root.path("apps").get(1);
    assertThat(bad.path("file").asText()).isEqualTo(f.toString());
    assertThat(bad.path("exposed").asBoolean()).isFalse();
    assertThat(bad.path("url").isNull()).isTrue();
    assertThat(bad.path("ready").path("reason").asText()).isEqualTo("IssuerMissing");
    assertThat(bad.path("checklist").path("failed").asInt()).isEqualTo(2);
    assertThat(bad.path("problems")).singleElement().satisfies(p -> {
      assertThat(p.fieldNames()).toIterable().containsExactly("area", "reason", "message", "blocksExposure");
      assertThat(p.path("area").asText()).isEqualTo("AUTH");
      assertThat(p.path("blocksExposure").asBoolean()).isTrue();
      assertThat(p.path("message").asText()).startsWith("spec.auth.issuer is not set");
    });
    assertThat(bad.path("verdict").asText()).startsWith("would NOT be exposed: IssuerMissing:");
  }

  @Test
  void directoriesAreReadLikeKubectlSubdirectoriesOnlyWithRecursive() throws Exception {
    MicroApp nested = TestApps.where2eat("team-a");
    nested.getMetadata().setName("nested");
    write("tree/top.yaml", yaml(TestApps.where2eat("team-a")));
    write("tree/sub/nested.yml", yaml(nested));
    write("tree/README.md", "not a manifest");
    Result flat = run(args(POLICY, "-f", dir.resolve("tree").toString()));
    assertThat(flat.code).as(flat.err).isZero();
    assertThat(flat.out).contains("team-a/where2eat").doesNotContain("team-a/nested");
    Result deep = run(args(POLICY, "-R", "-f", dir.resolve("tree").toString()));
    assertThat(deep.code).as(deep.err).isZero();
    assertThat(deep.out).contains("team-a/where2eat", "team-a/nested", "OK: all 2 app(s) would be Ready");
  }

  @Test
  void unreadableInputStopsWithOneLineNamingTheFileAndTheField() throws Exception {
    String head = "apiVersion: safedefaults.io/v1alpha1\nkind: MicroApp\nmetadata: {name: notes, namespace: ns}\n";
    Map<String, String> cases = new java.util.LinkedHashMap<>();
    cases.put(head + "spec:\n  image: img:1\n  auth:\n    alowedGroups: [team]\n",
        ": MicroApp ns/notes: unknown field 'alowedGroups' in spec.auth; check the spelling against"
            + " 'kubectl explain microapp.spec.auth'");
    cases.put(head + "spec:\n  image: img:1\n  retention:\n    purge:\n      - http: {path: /p}\n",
        ": MicroApp ns/notes: spec.retention.purge must be a map of fields; check it against"
            + " 'kubectl explain microapp.spec.retention.purge'");
    cases.put(head + "spec:\n  image: img:1\n  port: eighty\n",
        ": MicroApp ns/notes: spec.port must be a whole number; check it against 'kubectl explain microapp.spec.port'");
    cases.put(head + "spec:\n  image: img:1\n  visibility: secret\n",
        ": MicroApp ns/notes: spec.visibility must be one of private, organization, public, not 'secret'");
    cases.put(head + "spec:\n  image: img:1\n  overrides:\n  - {setting: everything, justification: x}\n",
        ": MicroApp ns/notes: spec.overrides[0].setting must be one of visibility, mfa, sessionTTL, rateLimit,"
            + " networkPolicy, retention, imageScan, not 'everything'; check it against"
            + " 'kubectl explain microapp.spec.overrides.setting'");
    cases.put(head + "spec:\n  image: img:1\n  auth: [team]\n",
        ": MicroApp ns/notes: spec.auth must be a map of fields");
    cases.put(head + "spec:\n  image: img:1\n  secrets:\n    sealed: [s3cr3t-in-plain-text]\n",
        ": MicroApp ns/notes: spec.secrets.sealed must be a map of fields");
    cases.put(head + "spec:\n  port: 8080\n", ": spec.image is required, e.g. ghcr.io/acme/app:1.0.0");
    cases.put("kind: MicroApp\nmetadata:\n  name: a\n   namespace: b\n",
        ": not valid YAML at line 4, column 13: mapping values are not allowed here");
    int n = 0;
    for (var c : cases.entrySet()) {
      Path f = write("bad" + n++ + ".yaml", c.getKey());
      Result r = run(args(POLICY, "-f", EXAMPLES.toString(), "-f", f.toString()));
      assertThat(r.code).as(c.getKey()).isEqualTo(2);
      assertThat(r.out).as("nothing is checked when an input cannot be read").isEmpty();
      assertThat(r.err.lines().toList()).as(c.getKey()).singleElement()
          .satisfies(line -> assertThat(line).startsWith("check: " + f + c.getValue()));
      assertThat(r.err).doesNotContain("s3cr3t-in-plain-text");
    }
    Result missing = run(args(POLICY, "-f", dir.resolve("absent.yaml").toString()));
    assertThat(missing.code).isEqualTo(2);
    assertThat(missing.err).isEqualTo("check: " + dir.resolve("absent.yaml") + ": no such file" + System.lineSeparator());
    Result none = run(args(POLICY, "-f", EXAMPLES.resolve("00-namespace.yaml").toString()));
    assertThat(none.code).isEqualTo(2);
    assertThat(none.err).contains("00-namespace.yaml: no MicroApp document found");
  }

  @Test
  void helpExplainsTheOnceAppliedViewAndTheExitCodes() {
    Result r = run("check", "--help");
    assertThat(r.code).isZero();
    assertThat(r.out.replaceAll("\\s+", " ")).contains("once the app is applied", "sealed values are checked for form only");
    assertThat(r.out).contains("--file=FILE|DIR", "--output=text|json", "--cluster-issuer",
        "Exit status:", "  1  some app would not be Ready", "  2  a file, a document or a flag cannot be read");
    assertThat(run("--help").out).contains("check");
  }

  @Test
  void anAppWhosePolicyRequiresApprovalIsReportedUnexposedWithTheCommandThatReadsTheGeneration() throws Exception {
    Path policy = write("policy.yaml", """
        apiVersion: safedefaults.io/v1alpha1
        kind: MicroAppPolicy
        metadata: {name: org-data}
        spec:
          namespaceSelector: {matchLabels: {data: organisation}}
          approval: {required: true, approverGroups: [data-stewards]}
        """);
    Path app = EXAMPLES.resolve("where2eat.yaml");
    Result r = run(args(POLICY, "-f", app.toString(), "--policy", policy.toString(), "--namespace-labels",
        "team-food:data=organisation", "-o", "json"));
    var report = JSON.readTree(r.out()).get("apps").get(0);
    assertThat(report.get("exposed").asBoolean()).isFalse();
    assertThat(report.get("ready").get("reason").asText()).isEqualTo("ApprovalRequired");
    assertThat(report.get("ready").get("message").asText())
        .contains("policy org-data requires an approval of the spec generation the API server gives the app")
        .contains("data-stewards")
        .contains("safedefaults.io/approved-generation=\"$(kubectl get microapp -n team-food where2eat -o jsonpath=");
    // the same app in a namespace the policy does not select: nothing to approve
    Result open = run(args(POLICY, "-f", app.toString(), "--policy", policy.toString(), "-o", "json"));
    assertThat(JSON.readTree(open.out()).get("apps").get(0).get("ready").get("reason").asText())
        .isNotEqualTo("ApprovalRequired");
  }

}
