package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.ImageScanSpec;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.PolicyWatch;
import io.safedefaults.microapp.runtime.ScanReports;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The vulnerability gate on a real kube-apiserver with Trivy Operator's VulnerabilityReport CRD
 * (pinned in e2e/control-plane/versions.env, copied by src/test/resources/trivy-operator/regenerate.sh):
 * the server's own schema validation judges every report, written as Trivy Operator writes them
 * (one per ReplicaSet container, with its labels). No scanner runs here: the test writes the reports.
 * Ordered: the CRD arrives after the first test, as it would when a platform installs Trivy later.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ImageScanApiServerTest {
  static KubernetesClient client;
  static final String OPERATOR_NS = "microapp-system";
  static final String CVE = "CVE-2024-45337";
  static final String DIGEST = "sha256:" + "ab12".repeat(16);
  static final OperatorConfig FLAGS = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").build();
  static Operator operator;
  static PolicyWatch policies;
  static ScanReports scans;

  @BeforeAll
  static void cluster() throws Exception {
    TestCluster.installCrd(client);
    TestCluster.installCrd(client, TestFiles.POLICIES);
    for (String ns : List.of(OPERATOR_NS, "gated", "audited", "open")) {
      client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
          .withName(ns).addToLabels("scan", ns).addToLabels("pod-security.kubernetes.io/enforce", "restricted")
          .endMetadata().build()).serverSideApply();
    }
    client.resource(policy("gated", ImageScanSpec.Mode.ENFORCE)).create();
    client.resource(policy("audited", ImageScanSpec.Mode.AUDIT)).create();
    SealingKeyStore keys = new SealingKeyStore(client, OPERATOR_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    policies = new PolicyWatch(client, FLAGS, Clock.systemUTC()).start();
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    MicroAppReconciler reconciler = new MicroAppReconciler(policies, new HostClaims(OPERATOR_NS),
        new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC());
    policies.onChange(reconciler::policyChanged);
    scans = new ScanReports(client, List.of(), Duration.ofSeconds(1));
    reconciler.scanReports(scans);
    scans.onChange(reconciler::policyChanged);
    scans.onServed(reconciler::reconcileAll);
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofMinutes(10)));
    operator.start();
    scans.start();
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.stop();
      policies.close();
      scans.close();
    }
  }

  @Test
  @Order(1)
  void withoutAScannerARequiredScanKeepsTheAppUnexposedAndSaysWhatToInstall() {
    client.resource(app("gated")).create();
    client.resource(app("open")).create();
    StatusCondition scanned = await(() -> condition("gated", Conditions.IMAGE_SCANNED), c -> "NoScanner".equals(c.getReason()));
    assertThat(scanned.getStatus()).isEqualTo("False");
    assertThat(scanned.getMessage()).contains("Trivy Operator").contains("aquasecurity.github.io/v1alpha1");
    assertThat(condition("gated", Conditions.READY).getReason()).isEqualTo("NoScanner");
    assertThat(client.apps().deployments().inNamespace("gated").withName("where2eat").get())
        .as("the app runs, unexposed, so that a scanner can scan it").isNotNull();
    assertThat(ingress("gated")).as("no Ingress without a passed scan").isNull();

    // a namespace whose policy does not require scans: relaxed by the platform, exposed
    StatusCondition open = await(() -> condition("open", Conditions.IMAGE_SCANNED), c -> c != null);
    assertThat(open.getStatus()).isEqualTo("True");
    assertThat(open.getReason()).isEqualTo("ScanNotRequired");
    await(() -> ingress("open"), i -> i != null);
  }

  @Test
  @Order(2)
  void onceTrivyIsInstalledTheAppWaitsForItsReportAndAReportOfAnotherImageDoesNotCount() throws Exception {
    installTrivyCrd();
    await(() -> condition("gated", Conditions.IMAGE_SCANNED), c -> "ScanPending".equals(c.getReason()));
    // another tag of the same repository, and the same tag of another repository
    client.resource(report("gated", "other-tag", "ghcr.io", "acme/where2eat", "1.4.1", List.of())).create();
    client.resource(report("gated", "other-repo", "ghcr.io", "acme/landing", "1.4.2", List.of())).create();
    org.awaitility.Awaitility.await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> true);
    assertThat(condition("gated", Conditions.IMAGE_SCANNED).getReason()).isEqualTo("ScanPending");
    assertThat(ingress("gated")).isNull();
  }

  @Test
  @Order(3)
  void aCriticalVulnerabilityWithAFixBlocksExposureAndANewScanWithoutOneExposesTheApp() {
    client.resource(report("gated", "replicaset-where2eat-6f7d9c8b5-app", "ghcr.io", "acme/where2eat", "1.4.2",
        List.of(vuln(CVE, "CRITICAL", "golang.org/x/crypto", "v0.30.0", "0.31.0"),
            vuln("CVE-2024-0001", "HIGH", "openssl", "3.3.1-r0", "3.3.2-r0")))).create();
    StatusCondition failed = await(() -> condition("gated", Conditions.IMAGE_SCANNED),
        c -> "VulnerableImage".equals(c.getReason()));
    assertThat(failed.getMessage()).contains(CVE).contains("golang.org/x/crypto v0.30.0 → 0.31.0")
        .doesNotContain("CVE-2024-0001").contains("replicaset-where2eat-6f7d9c8b5-app");
    assertThat(condition("gated", Conditions.READY).getReason()).isEqualTo("VulnerableImage");
    assertThat(ingress("gated")).isNull();
    // kubectl describe says it too, once
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> client.v1().events()
        .inNamespace("gated").list().getItems().stream()
        .filter(e -> "VulnerableImage".equals(e.getReason()) && "Warning".equals(e.getType())).count() == 1);

    // Trivy rescans the rebuilt image: a high one and a critical without a fix remain, neither fails the default gate
    client.resource(report("gated", "replicaset-where2eat-6f7d9c8b5-app", "ghcr.io", "acme/where2eat", "1.4.2",
        List.of(vuln("CVE-2024-0001", "HIGH", "openssl", "3.3.1-r0", "3.3.2-r0"),
            vuln("CVE-2023-9999", "CRITICAL", "busybox", "1.36.1-r29", "")))).update();
    StatusCondition passed = await(() -> condition("gated", Conditions.IMAGE_SCANNED),
        c -> "ScanPassed".equals(c.getReason()));
    assertThat(passed.getStatus()).isEqualTo("True");
    assertThat(passed.getMessage()).contains(DIGEST);
    await(() -> ingress("gated"), i -> i != null);

    // the scanned content is what runs: the Deployment names the digest, not the movable tag
    await(() -> appImage("gated"), i -> ("ghcr.io/acme/where2eat@" + DIGEST).equals(i));
    // Trivy scans the new ReplicaSet and reports the pinned image by digest only; the tag's report goes
    // with the old ReplicaSet. The app stays judged by the report of what runs, and stays exposed.
    GenericKubernetesResource byDigest = report("gated", "replicaset-where2eat-7c9f8d6b4-app", "ghcr.io",
        "acme/where2eat", null, List.of(vuln("CVE-2024-0001", "HIGH", "openssl", "3.3.1-r0", "3.3.2-r0")));
    client.resource(byDigest).create();
    client.genericKubernetesResources("aquasecurity.github.io/v1alpha1", "VulnerabilityReport").inNamespace("gated")
        .withName("replicaset-where2eat-6f7d9c8b5-app").delete();
    org.awaitility.Awaitility.await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> true);
    assertThat(condition("gated", Conditions.IMAGE_SCANNED).getMessage())
        .contains("replicaset-where2eat-7c9f8d6b4-app");
    assertThat(condition("gated", Conditions.IMAGE_SCANNED).getReason()).isEqualTo("ScanPassed");
    assertThat(ingress("gated")).isNotNull();
  }

  static String appImage(String ns) {
    var d = client.apps().deployments().inNamespace(ns).withName("where2eat").get();
    return d == null ? null : d.getSpec().getTemplate().getSpec().getContainers().stream()
        .filter(c -> "app".equals(c.getName())).findFirst().orElseThrow().getImage();
  }

  @Test
  @Order(4)
  void inAuditModeAVulnerableImageIsReportedButStaysExposed() {
    client.resource(app("audited")).create();
    client.resource(report("audited", "replicaset-where2eat-55b4c6d9f-app", "ghcr.io", "acme/where2eat", "1.4.2",
        List.of(vuln(CVE, "CRITICAL", "golang.org/x/crypto", "v0.30.0", "0.31.0")))).create();
    StatusCondition audited = await(() -> condition("audited", Conditions.IMAGE_SCANNED),
        c -> "VulnerableImage".equals(c.getReason()));
    assertThat(audited.getStatus()).isEqualTo("False");
    assertThat(condition("audited", Conditions.READY).getMessage()).startsWith("audit mode");
    await(() -> ingress("audited"), i -> i != null);
  }

  @Test
  @Order(5)
  void aStricterPolicyCountsHighVulnerabilitiesAndTheChangeReachesTheApp() {
    client.resources(MicroAppPolicy.class).withName("gated").edit(p -> {
      p.getSpec().getImageScan().setFailAt(ImageScanSpec.Severity.HIGH);
      return p;
    });
    StatusCondition failed = await(() -> condition("gated", Conditions.IMAGE_SCANNED),
        c -> "VulnerableImage".equals(c.getReason()));
    assertThat(failed.getMessage()).contains("CVE-2024-0001").doesNotContain("CVE-2023-9999");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> ingress("gated") == null);
  }

  // --- helpers

  static <T> T await(java.util.concurrent.Callable<T> read, java.util.function.Predicate<T> until) {
    return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(read, until);
  }

  static StatusCondition condition(String ns, String type) {
    MicroApp a = client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get();
    return a == null || a.getStatus() == null ? null
        : Conditions.find(a.getStatus(), type).orElse(null);
  }

  static io.fabric8.kubernetes.api.model.networking.v1.Ingress ingress(String ns) {
    return client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get();
  }

  static MicroApp app(String ns) {
    MicroApp app = TestApps.where2eat(ns);
    app.getSpec().setHost("where2eat-" + ns + ".apps.example.com");
    return app;
  }

  static MicroAppPolicy policy(String ns, ImageScanSpec.Mode mode) {
    MicroAppPolicy p = new MicroAppPolicy();
    p.setMetadata(new ObjectMetaBuilder().withName(ns).build());
    MicroAppPolicySpec s = new MicroAppPolicySpec();
    s.setNamespaceSelector(NamespaceSelector.labels(Map.of("scan", ns)));
    s.setImageScan(new ImageScanSpec());
    s.getImageScan().setMode(mode);
    p.setSpec(s);
    return p;
  }

  static void installTrivyCrd() throws Exception {
    Path file = Path.of("src/test/resources/trivy-operator/aquasecurity.github.io_vulnerabilityreports.yaml");
    String pinned = Files.readAllLines(TestFiles.repoFile("e2e/control-plane/versions.env")).stream()
        .filter(l -> l.startsWith("TRIVY_OPERATOR_VERSION=")).findFirst().orElseThrow()
        .substring("TRIVY_OPERATOR_VERSION=".length());
    assertThat(Files.readString(file)).as("the CRD copy is of the pinned version")
        .startsWith("# github.com/aquasecurity/trivy-operator@v" + pinned + " ");
    try (var in = new FileInputStream(file.toFile())) {
      for (HasMetadata item : client.load(in).items()) {
        CustomResourceDefinition crd = (CustomResourceDefinition) item;
        client.resource(crd).serverSideApply();
      }
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
        .until(() -> client.getApiResources("aquasecurity.github.io/v1alpha1") != null);
  }

  static Map<String, Object> vuln(String id, String severity, String resource, String installed, String fixed) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("vulnerabilityID", id);
    v.put("resource", resource);
    v.put("installedVersion", installed);
    v.put("fixedVersion", fixed);
    v.put("severity", severity);
    v.put("title", resource + ": a flaw");
    v.put("primaryLink", "https://avd.aquasec.com/nvd/" + id.toLowerCase(java.util.Locale.ROOT));
    v.put("links", List.of());
    v.put("score", 9.1);
    v.put("target", "");
    v.put("publishedDate", "2024-12-11T19:15:07Z");
    v.put("lastModifiedDate", "2025-01-31T15:15:13Z");
    return v;
  }

  /** A report as Trivy Operator writes one for a ReplicaSet's container (trivy-operator v0.29). */
  static GenericKubernetesResource report(String ns, String name, String server, String repository, String tag,
      List<Map<String, Object>> vulns) {
    GenericKubernetesResource r = new GenericKubernetesResource();
    r.setApiVersion("aquasecurity.github.io/v1alpha1");
    r.setKind("VulnerabilityReport");
    r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns)
        .addToLabels("trivy-operator.resource.kind", "ReplicaSet")
        .addToLabels("trivy-operator.resource.name", "where2eat-6f7d9c8b5")
        .addToLabels("trivy-operator.resource.namespace", ns)
        .addToLabels("trivy-operator.container.name", "app").build());
    Map<String, Object> summary = new LinkedHashMap<>();
    for (String s : List.of("critical", "high", "medium", "low", "unknown", "none")) {
      summary.put(s + "Count", vulns.stream().filter(v -> s.equalsIgnoreCase((String) v.get("severity"))).count());
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("updateTimestamp", java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
    report.put("scanner", Map.of("name", "Trivy", "vendor", "Aqua Security", "version", "0.65.0"));
    report.put("registry", Map.of("server", server));
    Map<String, Object> artifact = new LinkedHashMap<>();
    artifact.put("repository", repository);
    if (tag != null) {
      artifact.put("tag", tag); // Trivy reports an image run by digest without a tag
    }
    artifact.put("digest", DIGEST);
    report.put("artifact", artifact);
    report.put("os", Map.of("family", "alpine", "name", "3.20.3"));
    report.put("summary", summary);
    report.put("vulnerabilities", new ArrayList<>(vulns));
    r.setAdditionalProperty("report", report);
    return r;
  }
}
