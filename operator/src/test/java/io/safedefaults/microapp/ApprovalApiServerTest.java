package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.ApprovalSpec;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.approval.ApprovalGate;
import io.safedefaults.microapp.audit.AuditLog;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.PolicyWatch;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

/**
 * Approvals (issue 18, item 5) on a real kube-apiserver: its own generation bookkeeping decides
 * what a spec change is (metadata.generation moves on spec changes, not on annotation changes).
 * Namespace "orgdata" is selected by a policy that requires approval by data-stewards; "open" by none.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApprovalApiServerTest {
  static KubernetesClient client;
  static final String OPERATOR_NS = "microapp-system";
  static final String APPROVER = "dana.steward@example.com";
  static final OperatorConfig FLAGS = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").build();
  static final ListAppender<ILoggingEvent> LOGS = new ListAppender<>();
  static Operator operator;
  static PolicyWatch policies;

  @BeforeAll
  static void cluster() throws Exception {
    LOGS.start();
    ((Logger) LoggerFactory.getLogger(AuditLog.LOGGER)).addAppender(LOGS);
    TestCluster.installCrd(client);
    TestCluster.installCrd(client, TestFiles.POLICIES);
    for (String ns : List.of(OPERATOR_NS, "orgdata", "open")) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).addToLabels("data", ns)
          .addToLabels("pod-security.kubernetes.io/enforce", "restricted").endMetadata().build()).serverSideApply();
    }
    MicroAppPolicy p = new MicroAppPolicy();
    p.setMetadata(new ObjectMetaBuilder().withName("org-data").build());
    p.setSpec(new MicroAppPolicySpec());
    p.getSpec().setNamespaceSelector(NamespaceSelector.labels(Map.of("data", "orgdata")));
    p.getSpec().setApproval(new ApprovalSpec());
    p.getSpec().getApproval().setRequired(true);
    p.getSpec().getApproval().setApproverGroups(List.of("data-stewards"));
    client.resource(p).create();
    SealingKeyStore keys = new SealingKeyStore(client, OPERATOR_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    policies = new PolicyWatch(client, FLAGS, Clock.systemUTC()).start();
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    MicroAppReconciler reconciler = new MicroAppReconciler(policies, new HostClaims(OPERATOR_NS),
        new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC());
    policies.onChange(reconciler::policyChanged);
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofMinutes(10)));
    operator.start();
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.stop();
      policies.close();
    }
  }

  @Test
  @Order(1)
  void anAppWhosePolicyRequiresApprovalRunsUnexposedAndSaysWhoApprovesAndHow() {
    client.resource(app("orgdata")).create();
    client.resource(app("open")).create();
    StatusCondition ready = await(() -> condition("orgdata", Conditions.READY),
        c -> c != null && "ApprovalRequired".equals(c.getReason()));
    assertThat(ready.getStatus()).isEqualTo("False");
    assertThat(ready.getMessage()).contains("policy org-data requires an approval of generation 1")
        .contains("data-stewards").contains("kubectl annotate microapp -n orgdata where2eat --overwrite "
            + "safedefaults.io/approved-generation=1 safedefaults.io/approved-by=")
        .contains("kubectl auth whoami");
    assertThat(client.apps().deployments().inNamespace("orgdata").withName("where2eat").get())
        .as("the app runs, unexposed, so that approvers can look at it").isNotNull();
    assertThat(ingress("orgdata")).isNull();
    // a namespace no policy asks approvals of: exposed as ever
    await(() -> ingress("open"), i -> i != null);
    await(() -> condition("open", Conditions.READY), c -> c != null && !"ApprovalRequired".equals(c.getReason()));
  }

  @Test
  @Order(2)
  void anApprovalOfAnotherGenerationOrOneThatCannotBeReadExposesNothing() {
    for (Map<String, String> bad : List.of(
        Map.of(ApprovalGate.APPROVED_GENERATION, "2", ApprovalGate.APPROVED_BY, APPROVER),
        Map.of(ApprovalGate.APPROVED_GENERATION, "01", ApprovalGate.APPROVED_BY, APPROVER),
        Map.of(ApprovalGate.APPROVED_GENERATION, "1"))) {
      annotate(bad);
      String expected = bad.get(ApprovalGate.APPROVED_GENERATION).equals("2") ? "the approval is of generation 2"
          : "must both be set";
      await(() -> condition("orgdata", Conditions.READY), c -> c.getMessage().contains(expected));
      assertThat(condition("orgdata", Conditions.READY).getReason()).isEqualTo("ApprovalRequired");
      assertThat(app("orgdata", true).getMetadata().getGeneration()).as("annotations do not move the generation")
          .isEqualTo(1L);
      assertThat(ingress("orgdata")).isNull();
    }
    assertThat(audited("approval.granted")).isEmpty();
  }

  @Test
  @Order(3)
  void approvingTheCurrentGenerationExposesTheAppAndIsAuditedWithoutTheApproversName() {
    annotate(Map.of(ApprovalGate.APPROVED_GENERATION, "1", ApprovalGate.APPROVED_BY, APPROVER));
    await(() -> ingress("orgdata"), i -> i != null);
    await(() -> condition("orgdata", Conditions.READY), c -> !"ApprovalRequired".equals(c.getReason()));
    List<String> granted = await(() -> audited("approval.granted"), l -> !l.isEmpty());
    assertThat(granted).hasSize(1);
    assertThat(granted.get(0)).contains("generation=1").contains("approver=" + ApprovalGate.approverId(APPROVER))
        .contains("approverGroups=[data-stewards]").doesNotContain(APPROVER).doesNotContain("dana");
    var event = await(() -> client.v1().events().inNamespace("orgdata").list().getItems().stream()
        .filter(e -> "ApprovalGranted".equals(e.getReason())).toList(), l -> !l.isEmpty());
    assertThat(event).hasSize(1);
    assertThat(event.get(0).getType()).isEqualTo("Normal");
    assertThat(event.get(0).getMessage()).contains("generation 1").contains("data-stewards").doesNotContain("dana");
  }

  @Test
  @Order(4)
  void aSpecChangeNeedsANewApprovalAndTheIngressGoesUntilThen() {
    client.resources(MicroApp.class).inNamespace("orgdata").withName("where2eat")
        .edit(a -> {
          a.getSpec().setImage("ghcr.io/acme/where2eat:1.4.3");
          return a;
        });
    StatusCondition ready = await(() -> condition("orgdata", Conditions.READY),
        c -> "ApprovalRequired".equals(c.getReason()));
    assertThat(ready.getMessage()).contains("generation 2: the approval is of generation 1");
    // (Awaitility hands no null to a predicate: ask for a boolean)
    await(() -> ingress("orgdata") == null, gone -> gone);

    annotate(Map.of(ApprovalGate.APPROVED_GENERATION, "2", ApprovalGate.APPROVED_BY, APPROVER));
    await(() -> ingress("orgdata"), i -> i != null);
    List<String> granted = await(() -> audited("approval.granted"), l -> l.size() == 2);
    assertThat(granted.get(1)).contains("generation=2");
    // the namespace without the policy never needed one
    assertThat(ingress("open")).isNotNull();
  }

  @Test
  @Order(5)
  void thePolicySchemaRefusesARequiredApprovalThatNamesNoApproverGroup() {
    for (List<String> groups : java.util.Arrays.asList(null, List.<String>of())) {
      MicroAppPolicy p = new MicroAppPolicy();
      p.setMetadata(new ObjectMetaBuilder().withName("no-approvers").build());
      p.setSpec(new MicroAppPolicySpec());
      p.getSpec().setNamespaceSelector(NamespaceSelector.labels(Map.of("data", "x")));
      p.getSpec().setApproval(new ApprovalSpec());
      p.getSpec().getApproval().setRequired(true);
      p.getSpec().getApproval().setApproverGroups(groups);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.resource(p).create())
          .as("approverGroups %s", groups)
          .hasMessageContaining("approval.approverGroups must name at least one group when approval.required is true");
    }
  }

  static void annotate(Map<String, String> annotations) {
    client.resources(MicroApp.class).inNamespace("orgdata").withName("where2eat").edit(a -> {
      a.getMetadata().getAnnotations().remove(ApprovalGate.APPROVED_GENERATION);
      a.getMetadata().getAnnotations().remove(ApprovalGate.APPROVED_BY);
      a.getMetadata().getAnnotations().putAll(annotations);
      return a;
    });
  }

  static List<String> audited(String event) {
    synchronized (LOGS) {
      return LOGS.list.stream().filter(e -> e.getArgumentArray() != null)
          .map(e -> Arrays.toString(e.getArgumentArray()))
          .filter(s -> s.contains("event=" + event + ",")).toList();
    }
  }

  static <T> T await(java.util.concurrent.Callable<T> read, java.util.function.Predicate<T> until) {
    return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(read, until);
  }

  static StatusCondition condition(String ns, String type) {
    MicroApp a = app(ns, true);
    return a == null || a.getStatus() == null ? null : Conditions.find(a.getStatus(), type).orElse(null);
  }

  static MicroApp app(String ns, boolean read) {
    return client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get();
  }

  static Ingress ingress(String ns) {
    return client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get();
  }

  static MicroApp app(String ns) {
    MicroApp app = TestApps.where2eat(ns);
    app.getSpec().setHost("where2eat-" + ns + ".apps.example.com");
    app.getMetadata().setAnnotations(new java.util.HashMap<>());
    return app;
  }
}
