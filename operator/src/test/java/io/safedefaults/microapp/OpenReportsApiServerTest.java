package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

/**
 * Checklist reports on a real kube-apiserver with the OpenReports CRDs pinned in
 * e2e/control-plane/versions.env (copies in src/test/resources/openreports): the server's own
 * schema validation judges every Report. Its own API server, because the first test needs a cluster
 * without those CRDs and the last one removes them. Ordered: the CRDs arrive after the first test.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OpenReportsApiServerTest {
  static KubernetesClient client;
  static Operator operator;
  static MicroAppReconciler reconciler;
  static SealingKeyStore keys;
  static final String KEYS_NS = "microapp-system";
  static final ListAppender<ILoggingEvent> LOGS = new ListAppender<>();
  static final ResourceDefinitionContext REPORTS = new ResourceDefinitionContext.Builder()
      .withGroup("openreports.io").withVersion("v1alpha1").withKind("Report").withPlural("reports")
      .withNamespaced(true).build();
  static final String WHY_PUBLIC = "public landing page, no personal data";
  static final OperatorConfig POLICY = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").build();
  /** The namespace of the app created before OpenReports was installed. */
  static String early;

  String ns;

  /** The example app with this test's own host: a host is one app's cluster-wide (no waiting on claims). */
  MicroApp where2eat() {
    MicroApp app = TestApps.where2eat(ns);
    app.getSpec().setHost("where2eat." + ns + ".apps.example.com");
    return app;
  }

  @BeforeAll
  static void start() throws Exception {
    LOGS.start();
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(LOGS);
    TestCluster.installCrd(client);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(KEYS_NS).endMetadata().build())
        .serverSideApply();
    keys = new SealingKeyStore(client, KEYS_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    startOperator();
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.stop();
    }
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).detachAppender(LOGS);
  }

  /** The operator as `run` starts it; a running one is stopped first (a restart). */
  static void startOperator() {
    if (operator != null) {
      operator.stop();
    }
    reconciler = new MicroAppReconciler(POLICY, new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor);
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofSeconds(2)));
    operator.start();
  }

  @BeforeEach
  void namespace() {
    ns = "t-" + UUID.randomUUID().toString().substring(0, 8);
    TestCluster.restrictedNamespace(client, ns);
  }

  /** Every test's app uses one host: the last test's app and Ingress go, so the host passes on. */
  @org.junit.jupiter.api.AfterEach
  void releaseHost() {
    client.resources(MicroApp.class).inNamespace(ns).delete();
    client.network().v1().ingresses().inNamespace(ns).delete();
  }

  @Test
  @Order(1)
  void withoutTheCrdsAppsConvergeQuietlyAndReportsStartOnceTheyAreInstalled() throws Exception {
    assertThat(client.getApiResources("openreports.io/v1alpha1")).isNull();
    early = ns;
    MicroApp app = client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns);
    MicroApp ready = awaitReady(ns);
    assertThat(ready.getStatus().getChecklist().getPassed()).isEqualTo(9);
    assertThat(reconciler.reports.active()).isFalse();
    assertThat(warnings()).as("nothing at WARN or above without OpenReports").isEmpty();
    assertThat(logs()).anySatisfy(e -> assertThat(e.getFormattedMessage())
        .contains("openreports.io/v1alpha1 are not served (OpenReports not installed)"));

    // OpenReports installed later: discovery's next look (every 2 min; here at once) starts reports,
    // and the app that already existed gets its Report without a restart or a change of its own.
    installOpenReports();
    reconciler.reports.refresh();
    assertThat(reconciler.reports.active()).isTrue();
    GenericKubernetesResource report = awaitReport(ns, r -> true);
    assertThat(report.getMetadata().getOwnerReferences()).singleElement()
        .satisfies(o -> assertThat(o.getUid()).isEqualTo(app.getMetadata().getUid()));
  }

  @Test
  @Order(2)
  void eachAppGetsAReportOfItsChecklistThatTheRealSchemaAccepts() {
    MicroApp app = client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns);
    awaitReady(ns);

    GenericKubernetesResource r = awaitReport(ns, x -> summary(x).get("pass").equals(9));
    assertThat(r.getMetadata().getName()).isEqualTo("where2eat-checklist");
    assertThat(r.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "microapp-operator")
        .containsEntry(Names.APP_LABEL, "where2eat");
    assertThat(r.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getUid()).isEqualTo(app.getMetadata().getUid());
      assertThat(o.getKind()).isEqualTo("MicroApp");
      assertThat(o.getController()).isTrue();
    });
    assertThat(r.getAdditionalProperties()).containsEntry("source", "microapp-operator")
        .containsEntry("scope", Map.of("apiVersion", "safedefaults.io/v1alpha1", "kind", "MicroApp",
            "name", "where2eat", "namespace", ns, "uid", app.getMetadata().getUid()));
    assertThat(summary(r)).isEqualTo(Map.of("pass", 9, "fail", 0, "warn", 0, "error", 0, "skip", 1));
    assertThat(results(r)).extracting(m -> m.get("rule")).containsExactly("signInRequired", "mfaForAdminPaths",
        "shortSessions", "rateLimits", "tlsAndHsts", "secretsSealed", "leastPrivilege", "minimalRetention",
        "safeOverrides", "imageScanned");
    assertThat(results(r)).allSatisfy(m -> {
      // the image scan is not required by the flags here: skipped, every other item passes
      assertThat(m).containsEntry("policy", "microapp-checklist")
          .containsEntry("result", "imageScanned".equals(m.get("rule")) ? "skip" : "pass")
          .containsKeys("severity", "message", "timestamp", "category");
      assertThat((String) m.get("message")).isNotBlank();
    });
    assertThat(result(r, "tlsAndHsts").get("message")).asString().contains("https://" + where2eat().getSpec().getHost());
    // kubectl get reports shows the summary from the CRD's printer columns; the scope names the app
    assertThat(client.genericKubernetesResources(REPORTS).inNamespace(ns).list().getItems()).hasSize(1);
  }

  @Test
  @Order(3)
  void aChangedSpecChangesTheReport() {
    client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns);
    GenericKubernetesResource before = awaitReport(ns, x -> summary(x).get("pass").equals(9));

    // the operator may write the status between our read and write: read again on a conflict
    TestCluster.retryOnConflict(() -> client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").edit(app -> {
      app.getSpec().setVisibility(Visibility.PUBLIC);
      app.getSpec().getOverrides().add(new DefaultOverride(Setting.VISIBILITY, WHY_PUBLIC));
      return app;
    }));

    GenericKubernetesResource after = awaitReport(ns, x -> summary(x).get("skip").equals(2));
    assertThat(result(after, "signInRequired")).containsEntry("result", "skip").containsEntry("severity", "critical");
    assertThat(result(after, "signInRequired").get("properties")).isEqualTo(Map.of("checklistItem", "1",
        "condition", "AuthEnforced", "reason", "PublicByOverride", "override", "visibility",
        "justification", WHY_PUBLIC));
    assertThat(summary(after)).isEqualTo(Map.of("pass", 8, "fail", 0, "warn", 0, "error", 0, "skip", 2));
    // the other results did not change, nor did the time they were found
    assertThat(result(after, "tlsAndHsts").get("timestamp")).isEqualTo(result(before, "tlsAndHsts").get("timestamp"));
  }

  @Test
  @Order(4)
  void anIdleResyncOrARestartWritesNoReport() throws Exception {
    client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns);
    awaitReady(ns);
    awaitReport(ns, x -> summary(x).get("pass").equals(9));
    Thread.sleep(3000); // the last writes and their watch events settle

    long before = ApiServerRequests.writes(client, Set.of("reports"));
    assertThat(before).as("the counter sees the writes that created reports").isPositive();
    long built = reconciler.reports.builtAndCompared();
    Thread.sleep(8000); // four resyncs at the 2 s interval
    assertThat(ApiServerRequests.writes(client, Set.of("reports")) - before).as("report writes on resync").isZero();
    assertThat(reconciler.reports.builtAndCompared() - built)
        .as("resyncs of unchanged apps answered from the fingerprint, not by building and comparing Reports")
        .isLessThanOrEqualTo(2);

    startOperator();
    assertThat(reconciler.reports.active()).isTrue();
    Thread.sleep(8000); // the restarted operator reconciles every app, then resyncs
    assertThat(ApiServerRequests.writes(client, Set.of("reports")) - before).as("report writes after a restart").isZero();
  }

  @Test
  @Order(5)
  void aReportSomeoneElseWroteUnderTheNameIsNeverTakenOver() {
    GenericKubernetesResource foreign = new GenericKubernetesResource();
    foreign.setApiVersion("openreports.io/v1alpha1");
    foreign.setKind("Report");
    foreign.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("where2eat-checklist")
        .withNamespace(ns).addToLabels("team", "food").build());
    foreign.setAdditionalProperty("source", "someone-else");
    client.genericKubernetesResources(REPORTS).inNamespace(ns).resource(foreign).create();
    client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns);
    awaitReady(ns);
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> true);
    GenericKubernetesResource still = client.genericKubernetesResources(REPORTS).inNamespace(ns)
        .withName("where2eat-checklist").get();
    assertThat(still.getAdditionalProperties()).containsEntry("source", "someone-else");
    assertThat(still.getMetadata().getLabels()).doesNotContainKey("app.kubernetes.io/managed-by");
    assertThat(still.getMetadata().getOwnerReferences()).isNullOrEmpty();
    assertThat(warnings()).anySatisfy(w -> assertThat(w).contains("where2eat-checklist", "will not take it over"));
  }

  @Test
  @Order(6)
  void aReportDeletedOrEditedByHandIsPutRight() {
    client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns);
    GenericKubernetesResource original = awaitReport(ns, x -> summary(x).get("pass").equals(9));

    client.genericKubernetesResources(REPORTS).inNamespace(ns).withName("where2eat-checklist").delete();
    GenericKubernetesResource back = awaitReport(ns,
        x -> !x.getMetadata().getUid().equals(original.getMetadata().getUid()));
    assertThat(results(back)).hasSize(10);
    assertThat(summary(back)).isEqualTo(summary(original));

    client.genericKubernetesResources(REPORTS).inNamespace(ns).withName("where2eat-checklist")
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"summary\":{\"pass\":0,\"fail\":9}}");
    awaitReport(ns, x -> summary(x).equals(summary(original)));
  }

  @Test
  @Order(7)
  void removingTheCrdsStopsReportsWithoutWarningsOrFailures() throws Exception {
    client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns);
    awaitReport(ns, x -> summary(x).get("pass").equals(9));
    int logged = logs().size();

    // A finalizer holds this Report, and with it the CRD in Terminating: meanwhile the other apps'
    // Reports are gone and the API refuses to create them again (403) at every resync.
    var held = client.genericKubernetesResources(REPORTS).inNamespace(ns).withName("where2eat-checklist");
    held.edit(r -> {
      r.getMetadata().setFinalizers(List.of("test.safedefaults.io/hold"));
      return r;
    });
    for (String crd : List.of("reports.openreports.io", "clusterreports.openreports.io")) {
      client.apiextensions().v1().customResourceDefinitions().withName(crd).delete();
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> client.genericKubernetesResources(REPORTS).inAnyNamespace()
        .list().getItems().size() == 1);
    Thread.sleep(5000); // resyncs at the 2 s interval try to put the other Reports back
    held.edit(r -> {
      r.getMetadata().setFinalizers(List.of());
      return r;
    });
    await().atMost(Duration.ofSeconds(60)).until(() -> client.getApiResources("openreports.io/v1alpha1") == null);
    reconciler.reports.refresh();
    assertThat(reconciler.reports.active()).isFalse();

    // apps still converge: a spec change reaches status, nothing fails, nothing warns
    TestCluster.retryOnConflict(() -> client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").edit(app -> {
      app.getSpec().getAuth().setSessionTTL("4h");
      return app;
    }));
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      MicroApp a = client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get();
      return a.getStatus().getObservedGeneration().equals(a.getMetadata().getGeneration())
          && Conditions.find(a.getStatus(), Conditions.AUTH).orElseThrow().getMessage().contains("sessions last 4h");
    });
    awaitReady(ns);
    Thread.sleep(3000);
    assertThat(warnings(logs().subList(logged, logs().size()))).as("WARN or above after the CRDs went").isEmpty();
  }

  // --- helpers


  static void installOpenReports() throws IOException {
    Path dir = Path.of("src/test/resources/openreports");
    String pinned = Files.readAllLines(TestFiles.repoFile("e2e/control-plane/versions.env")).stream()
        .filter(l -> l.startsWith("OPENREPORTS_VERSION=")).findFirst().orElseThrow().substring("OPENREPORTS_VERSION=".length());
    for (String file : List.of("openreports.io_reports.yaml", "openreports.io_clusterreports.yaml")) {
      assertThat(Files.readString(dir.resolve(file))).as(file + " regenerated for the pinned version")
          .startsWith("# github.com/openreports/reports-api@v" + pinned + " ");
      try (var in = new FileInputStream(dir.resolve(file).toFile())) {
        for (HasMetadata item : client.load(in).items()) {
          CustomResourceDefinition crd = (CustomResourceDefinition) item;
          client.resource(crd).serverSideApply();
          await().atMost(Duration.ofSeconds(30)).until(() -> client.apiextensions().v1().customResourceDefinitions()
              .withName(crd.getMetadata().getName()).get().getStatus().getConditions().stream()
              .anyMatch(c -> c.getType().equals("Established") && c.getStatus().equals("True")));
        }
      }
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> client.getApiResources("openreports.io/v1alpha1") != null);
  }

  static GenericKubernetesResource awaitReport(String ns, java.util.function.Predicate<GenericKubernetesResource> p) {
    return await().atMost(Duration.ofSeconds(30)).until(
        () -> client.genericKubernetesResources(REPORTS).inNamespace(ns).withName("where2eat-checklist").get(),
        r -> r != null && p.test(r));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> summary(GenericKubernetesResource r) {
    return (Map<String, Object>) r.getAdditionalProperties().get("summary");
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> results(GenericKubernetesResource r) {
    return (List<Map<String, Object>>) r.getAdditionalProperties().get("results");
  }

  static Map<String, Object> result(GenericKubernetesResource r, String rule) {
    return results(r).stream().filter(m -> rule.equals(m.get("rule"))).findFirst().orElseThrow();
  }

  static MicroApp awaitReady(String ns) {
    return await().atMost(Duration.ofSeconds(30)).until(
        () -> client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get(),
        a -> a != null && a.getStatus() != null
            && Conditions.find(a.getStatus(), Conditions.READY).map(c -> "True".equals(c.getStatus())).orElse(false));
  }

  /** Plays the deployment controller's part: reports one available replica. */
  static void markAvailable(String ns) {
    Deployment d = client.apps().deployments().inNamespace(ns).withName("where2eat").get();
    d.setStatus(new DeploymentStatusBuilder().withReplicas(1).withReadyReplicas(1).withAvailableReplicas(1)
        .withUpdatedReplicas(1).withObservedGeneration(d.getMetadata().getGeneration()).build());
    client.apps().deployments().inNamespace(ns).resource(d).updateStatus();
  }

  static List<ILoggingEvent> logs() {
    synchronized (LOGS) {
      return new java.util.ArrayList<>(LOGS.list);
    }
  }

  static List<String> warnings() {
    return warnings(logs());
  }

  static List<String> warnings(List<ILoggingEvent> events) {
    // Fabric8 notes once per resource type that a v1alpha1 API is used (MicroApps too): not ours to judge
    return events.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
        .filter(e -> !e.getLoggerName().endsWith(".VersionUsageUtils"))
        .map(e -> e.getLoggerName() + ": " + e.getFormattedMessage()).toList();
  }
}
