package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.AppResources;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.PolicyWatch;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two teams on one real kube-apiserver, each with its own MicroAppPolicy, and a namespace no policy
 * selects (the flags apply): host ownership across namespaces and restarts, foreign domains,
 * issuers, resource bounds, audit mode, and a policy change that re-evaluates only its apps.
 * No garbage collector runs here: where a deleted app's Ingress would be collected, the test deletes it.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class MultiTenantApiServerTest {
  static KubernetesClient client;
  static final String OPERATOR_NS = "microapp-system";
  static final OperatorConfig FLAGS = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").build();
  static SealingKeyStore keys;
  static Operator operator;
  static PolicyWatch policies;

  @BeforeAll
  static void cluster() throws Exception {
    TestCluster.installCrd(client);
    TestCluster.installCrd(client, TestFiles.POLICIES);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(OPERATOR_NS).endMetadata().build())
        .serverSideApply();
    namespace("team-food", Map.of("team", "food"));
    namespace("team-fin", Map.of("team", "fin"));
    namespace("team-x", Map.of());
    client.resource(policy("food", Map.of("team", "food"), MicroAppPolicySpec.Mode.ENFORCE, "food.apps.example.com"))
        .create();
    client.resource(policy("fin", Map.of("team", "fin"), MicroAppPolicySpec.Mode.AUDIT, "fin.apps.example.com"))
        .create();
    keys = new SealingKeyStore(client, OPERATOR_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    startOperator();
  }

  static void startOperator() throws InterruptedException {
    policies = new PolicyWatch(client, FLAGS, java.time.Clock.systemUTC()).start();
    operator = new Operator(o -> o.withKubernetesClient(TestCluster.operatorClient(client)));
    MicroAppReconciler reconciler = new MicroAppReconciler(policies, new HostClaims(OPERATOR_NS),
        new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC());
    policies.onChange(reconciler::policyChanged);
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofMinutes(10)));
    operator.start();
  }

  static void stopOperator() {
    operator.stop();
    policies.close();
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      stopOperator();
    }
  }

  static void namespace(String name, Map<String, String> labels) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels)
        .addToLabels("pod-security.kubernetes.io/enforce", "restricted").endMetadata().build()).serverSideApply();
  }

  static MicroAppPolicy policy(String name, Map<String, String> selector, MicroAppPolicySpec.Mode mode, String domain) {
    MicroAppPolicy p = new MicroAppPolicy();
    p.setMetadata(new ObjectMetaBuilder().withName(name).build());
    MicroAppPolicySpec s = new MicroAppPolicySpec();
    s.setNamespaceSelector(NamespaceSelector.labels(selector));
    s.setMode(mode);
    s.setAllowedHostSuffixes(List.of(domain));
    s.setAllowedIssuers(List.of("https://login.example.com/realms/acme"));
    s.setResources(new MicroAppPolicySpec.Resources());
    s.getResources().setMax(new MicroAppPolicySpec.Quantities());
    s.getResources().getMax().setCpu("2");
    s.getResources().getMax().setMemory("1Gi");
    p.setSpec(s);
    return p;
  }

  static MicroApp app(String ns, String name, String host) {
    MicroApp app = TestApps.where2eat(ns);
    app.getMetadata().setName(name);
    app.getSpec().setHost(host);
    return app;
  }

  static Optional<Ingress> ingress(String ns, String name) {
    return Optional.ofNullable(client.network().v1().ingresses().inNamespace(ns).withName(name).get());
  }

  static StatusCondition ready(String ns, String name) {
    return await().atMost(Duration.ofSeconds(30)).until(() -> {
      MicroApp a = client.resources(MicroApp.class).inNamespace(ns).withName(name).get();
      return a == null || a.getStatus() == null ? null : a.getStatus().getConditions().stream()
          .filter(c -> c.getType().equals("Ready")).findFirst().orElse(null);
    }, c -> c != null);
  }

  static StatusCondition readyWithReason(String ns, String name, String reason) {
    await().atMost(Duration.ofSeconds(30)).until(() -> reason.equals(ready(ns, name).getReason()));
    return ready(ns, name);
  }

  @Test
  void aHostBelongsToTheFirstClaimantAcrossNamespacesAndRestartsAndPassesOnWhenItGoes() throws Exception {
    String host = "where2eat.food.apps.example.com";
    // Sampled all along: never two Ingresses for one host.
    AtomicReference<String> overlap = new AtomicReference<>();
    Thread watcher = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        List<Ingress> serving = client.network().v1().ingresses().inAnyNamespace().list().getItems().stream()
            .filter(i -> i.getSpec().getRules().stream().anyMatch(r -> host.equals(r.getHost()))).toList();
        if (serving.size() > 1) {
          overlap.compareAndSet(null, serving.stream().map(i -> i.getMetadata().getNamespace()).toList().toString());
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    watcher.start();
    try {
      client.resource(app("team-food", "where2eat", host)).create();
      await().atMost(Duration.ofSeconds(30)).until(() -> ingress("team-food", "where2eat").isPresent());

      // team-x has no policy: any host is allowed there by the flags, but not one another app holds.
      client.resource(app("team-x", "hijack", host)).create();
      StatusCondition taken = readyWithReason("team-x", "hijack", "HostTaken");
      assertThat(taken.getMessage()).contains(host, "namespace team-food").doesNotContain("where2eat/");
      assertThat(ingress("team-x", "hijack")).isEmpty();

      // A restart changes nothing: the claim is in the API server, not in the operator's memory.
      stopOperator();
      startOperator();
      Thread.sleep(3000);
      assertThat(ingress("team-x", "hijack")).isEmpty();
      assertThat(ingress("team-food", "where2eat")).isPresent();
      assertThat(readyWithReason("team-x", "hijack", "HostTaken").getMessage()).contains("team-food");

      // The owner goes (the garbage collector would remove its Ingress); the next claimant gets the host.
      client.resources(MicroApp.class).inNamespace("team-food").withName("where2eat").delete();
      Thread.sleep(1000);
      assertThat(ingress("team-x", "hijack")).as("not while the old Ingress still routes the host").isEmpty();
      client.network().v1().ingresses().inNamespace("team-food").withName("where2eat").delete();
      await().atMost(Duration.ofSeconds(30)).until(() -> ingress("team-x", "hijack").isPresent());
      // the Ingress is written before the status of the same reconcile: wait for that status too
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat(ready("team-x", "hijack").getReason()).isNotIn("HostTaken", "HostSettling"));
    } finally {
      watcher.interrupt();
      watcher.join();
    }
    assertThat(overlap.get()).as("two apps exposed on one host at once").isNull();
  }

  @Test
  void aForeignDomainADisallowedIssuerAndAnUnboundedContainerEachEndWithAConditionAndNoExposure() {
    client.resource(app("team-food", "login", "login.example.com")).create();
    StatusCondition foreign = readyWithReason("team-food", "login", "HostNotAllowed");
    assertThat(foreign.getMessage()).contains("food.apps.example.com", "policy food");
    assertThat(ingress("team-food", "login")).isEmpty();

    MicroApp google = app("team-food", "google", "google.food.apps.example.com");
    google.getSpec().setVisibility(Visibility.ORGANIZATION);
    google.getSpec().getAuth().setIssuer("https://accounts.google.com");
    client.resource(google).create();
    StatusCondition issuer = readyWithReason("team-food", "google", "IssuerNotAllowed");
    assertThat(issuer.getMessage()).contains("https://accounts.google.com", "https://login.example.com/realms/acme");
    assertThat(ingress("team-food", "google")).isEmpty();

    MicroApp big = app("team-food", "big", "big.food.apps.example.com");
    big.getSpec().setResources(new AppResources());
    big.getSpec().getResources().setCpu("1000");
    big.getSpec().getResources().setMemory("64Gi");
    client.resource(big).create();
    StatusCondition bounded = readyWithReason("team-food", "big", "ResourcesAboveMaximum");
    assertThat(bounded.getMessage()).contains("cpu 1000 is above the maximum", "memory 64Gi", "policy food");
    await().atMost(Duration.ofSeconds(30)).until(() -> client.apps().deployments().inNamespace("team-food")
        .withName("big").get(), d -> d != null);
    var limits = client.apps().deployments().inNamespace("team-food").withName("big").get()
        .getSpec().getTemplate().getSpec().getContainers().get(0).getResources().getLimits();
    String maxCpu = client.resources(MicroAppPolicy.class).withName("food").get().getSpec().getResources().getMax().getCpu();
    assertThat(limits.get("cpu").toString()).isEqualTo(maxCpu);
    assertThat(limits.get("memory").toString()).isEqualTo("1Gi");
    assertThat(ingress("team-food", "big")).as("not exposed until the spec is within bounds").isEmpty();
  }

  @Test
  void anAuditPolicyExposesWhatItWouldRefuseAndReportsIt() {
    client.resource(app("team-fin", "ledger", "ledger.example.org")).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> ingress("team-fin", "ledger").isPresent());
    StatusCondition c = readyWithReason("team-fin", "ledger", "HostNotAllowed");
    assertThat(c.getMessage()).startsWith("audit: ").contains("fin.apps.example.com");
    MicroApp a = client.resources(MicroApp.class).inNamespace("team-fin").withName("ledger").get();
    assertThat(a.getStatus().getChecklist().getFailing()).contains("tlsAndHsts");
  }

  @Test
  void aPolicyChangeReevaluatesTheAppsItSelectsAndNoOthers() {
    client.resource(app("team-food", "menu", "menu.food.apps.example.com")).create();
    client.resource(app("team-fin", "bills", "bills.fin.apps.example.com")).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> ingress("team-food", "menu").isPresent()
        && ingress("team-fin", "bills").isPresent());
    Thread.yield();
    await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(() -> true);
    String finVersion = client.resources(MicroApp.class).inNamespace("team-fin").withName("bills").get()
        .getMetadata().getResourceVersion();

    // the operator writes the policy's status between our read and write: read again on a conflict
    TestCluster.retryOnConflict(() -> client.resources(MicroAppPolicy.class).withName("food")
        .edit(food -> {
          food.getSpec().getResources().getMax().setCpu("500m");
          return food;
        }));
    try {
    await().atMost(Duration.ofSeconds(30)).until(() -> "500m".equals(client.apps().deployments()
        .inNamespace("team-food").withName("menu").get().getSpec().getTemplate().getSpec().getContainers().get(0)
        .getResources().getLimits().get("cpu").toString()));
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> true);
    assertThat(client.resources(MicroApp.class).inNamespace("team-fin").withName("bills").get()
        .getMetadata().getResourceVersion()).as("an app of another team is not touched").isEqualTo(finVersion);
    } finally {
      TestCluster.retryOnConflict(() -> client.resources(MicroAppPolicy.class).withName("food")
          .edit(back -> {
            back.getSpec().getResources().getMax().setCpu("2");
            return back;
          }));
    }

    // Labels decide: a namespace that joins the team gets its policy at once.
    client.resource(app("team-x", "joiner", "joiner.example.net")).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> ingress("team-x", "joiner").isPresent());
    namespace("team-x", Map.of("team", "food"));
    readyWithReason("team-x", "joiner", "HostNotAllowed");
    await().atMost(Duration.ofSeconds(30)).until(() -> ingress("team-x", "joiner").isEmpty());
    namespace("team-x", Map.of());
    await().atMost(Duration.ofSeconds(30)).until(() -> ingress("team-x", "joiner").isPresent());
  }

  @Test
  void aPolicySaysHowManyNamespacesItSelectsAndWhatItCorrected() {
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      MicroAppPolicy p = client.resources(MicroAppPolicy.class).withName("fin").get();
      return p.getStatus() != null && Integer.valueOf(1).equals(p.getStatus().getNamespaces());
    });
    MicroAppPolicy odd = policy("odd", Map.of("nobody", "here"), MicroAppPolicySpec.Mode.ENFORCE, "example.com");
    odd.getSpec().setSessionTTL(new MicroAppPolicySpec.SessionTtl());
    odd.getSpec().getSessionTTL().setDefaultTTL("10h");
    odd.getSpec().getSessionTTL().setMax("4h");
    client.resource(odd).create();
    StatusCondition valid = await().atMost(Duration.ofSeconds(30)).until(() -> {
      MicroAppPolicy p = client.resources(MicroAppPolicy.class).withName("odd").get();
      return p.getStatus() == null ? null : p.getStatus().getConditions().stream().findFirst().orElse(null);
    }, c -> c != null);
    assertThat(valid.getStatus()).isEqualTo("False");
    assertThat(valid.getMessage()).contains("sessionTTL.defaultTTL is above sessionTTL.max");
    client.resource(odd).delete();

    // Two policies on one namespace whose domains have nothing in common: both say so, and the
    // app there gets no host at all rather than either policy's.
    namespace("team-both", Map.of("both", "yes"));
    client.resource(policy("both-a", Map.of("both", "yes"), MicroAppPolicySpec.Mode.ENFORCE, "a.example.com")).create();
    client.resource(policy("both-b", Map.of("both", "yes"), MicroAppPolicySpec.Mode.AUDIT, "b.example.com")).create();
    StatusCondition conflict = await().atMost(Duration.ofSeconds(30)).until(() -> {
      MicroAppPolicy p = client.resources(MicroAppPolicy.class).withName("both-b").get();
      return p.getStatus() == null ? null : p.getStatus().getConditions().stream().findFirst().orElse(null);
    }, c -> c != null && "False".equals(c.getStatus()));
    assertThat(conflict.getMessage()).contains("also selected by both-a", "nothing in common", "team-both");
    client.resource(app("team-both", "site", "site.a.example.com")).create();
    StatusCondition none = readyWithReason("team-both", "site", "HostNotAllowed");
    assertThat(none.getMessage()).contains("policies both-a, both-b", "none");
    assertThat(ingress("team-both", "site")).as("enforce wins over audit").isEmpty();
  }

  @Test
  void theApiRefusesAPolicyThatCannotBeRead() {
    MicroAppPolicy bad = policy("bad", Map.of(), MicroAppPolicySpec.Mode.ENFORCE, "Example.COM");
    var e = org.junit.jupiter.api.Assertions.assertThrows(io.fabric8.kubernetes.client.KubernetesClientException.class,
        () -> client.resource(bad).create());
    assertThat(e.getMessage()).contains("allowedHostSuffixes");
    MicroAppPolicy zero = policy("zero", Map.of(), MicroAppPolicySpec.Mode.ENFORCE, "example.com");
    zero.getSpec().getResources().getMax().setCpu("0");
    e = org.junit.jupiter.api.Assertions.assertThrows(io.fabric8.kubernetes.client.KubernetesClientException.class,
        () -> client.resource(zero).create());
    assertThat(e.getMessage()).contains("cpu must be more than 0");
    MicroAppPolicy days = policy("days", Map.of(), MicroAppPolicySpec.Mode.ENFORCE, "example.com");
    days.getSpec().setRetention(new MicroAppPolicySpec.Retention());
    days.getSpec().getRetention().setDefaultDays(90);
    days.getSpec().getRetention().setMaxDays(30);
    e = org.junit.jupiter.api.Assertions.assertThrows(io.fabric8.kubernetes.client.KubernetesClientException.class,
        () -> client.resource(days).create());
    assertThat(e.getMessage()).contains("retention.defaultDays must not be above retention.maxDays");
  }
}
