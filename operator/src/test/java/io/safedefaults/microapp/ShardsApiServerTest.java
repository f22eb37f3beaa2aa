package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.RegisteredController;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.NamespaceShard;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two operator shards on one real kube-apiserver, split by a namespace label, each with its own
 * leader-election Lease, judged by the API server's audit log (every write with its client and
 * time): each converges the apps of its own namespaces only, and a namespace whose label flips
 * while its apps are being changed is handed over with the old shard's last write before the new
 * shard's first. No garbage collector or Deployment controller runs here: apps converge to their
 * children and a status, not to running pods.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1",
    "--audit-policy-file", "target/test-classes/shards/audit-policy.yaml",
    "--audit-log-path", ShardsApiServerTest.AUDIT_LOG, "--audit-log-format", "json"})
class ShardsApiServerTest {
  static final String AUDIT_LOG = "target/shards-apiserver-audit.log";
  static final String OPERATOR_NS = "microapp-system";
  static final OperatorConfig FLAGS = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").build();
  static final ObjectMapper JSON = new ObjectMapper();
  static KubernetesClient client;
  static SealingKeyStore keys;
  /** The audit log file outlives a run (its path is fixed before the API server starts): read only this run's. */
  static Instant started;
  static final List<Shard> shards = new ArrayList<>();
  /** While set, shard a's reconciles wait before their first write; {@link #held} says one does. */
  static final AtomicBoolean hold = new AtomicBoolean();
  static final AtomicBoolean held = new AtomicBoolean();

  /** One operator instance as RunCommand wires it with --shard-name and --shard-selector. */
  record Shard(String name, KubernetesClient client, Operator operator, NamespaceShard namespaces) {
    static Shard start(String name, String selector) {
      return start(name, selector, keys::decryptor);
    }

    /** @param decryptor read by every reconcile before its first write (a test can hold reconciles there) */
    static Shard start(String name, String selector,
        java.util.function.Supplier<io.safedefaults.microapp.secrets.SealedValueDecryptor> decryptor) {
      Config config = new ConfigBuilder(ShardsApiServerTest.client.getConfiguration()).build();
      config.setUserAgent("shard-" + name); // the audit log tells the shards' writes apart by it
      KubernetesClient own = new KubernetesClientBuilder().withConfig(config).build();
      String lease = "microapp-operator-" + name;
      NamespaceShard shard = new NamespaceShard(own, name, selector, OPERATOR_NS, OPERATOR_NS, lease, Clock.systemUTC());
      AtomicReference<RegisteredController<MicroApp>> controller = new AtomicReference<>();
      Operator operator = new Operator(o -> o.withKubernetesClient(own).withCloseClientOnStop(false)
          .withMetrics(shard.counting(Metrics.NOOP))
          .withLeaderElectionConfiguration(new LeaderElectionConfiguration(lease, OPERATOR_NS,
              Duration.ofSeconds(6), Duration.ofSeconds(4), Duration.ofSeconds(1), "pod-" + name,
              new LeaderCallbacks(() -> shard.startFollowing(controller.get()), () -> { }, leader -> { }), false)));
      MicroAppReconciler reconciler = new MicroAppReconciler(ns -> FLAGS, new HostClaims(OPERATOR_NS),
          new OperatorMetrics(new SimpleMeterRegistry()), decryptor, Duration.ofDays(30), Clock.systemUTC());
      reconciler.writeOnlyIn(shard::owns);
      shard.onHandedOver(reconciler::handedOver);
      controller.set(operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofMinutes(10))
          .settingNamespaces(shard.idleNamespaces())));
      operator.start();
      return new Shard(name, own, operator, shard);
    }

    void stop() {
      namespaces.close();
      operator.stop();
      client.close();
    }
  }

  @BeforeAll
  static void cluster() throws Exception {
    started = Instant.now();
    TestCluster.installCrd(client);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(OPERATOR_NS).endMetadata().build())
        .serverSideApply();
    keys = new SealingKeyStore(client, OPERATOR_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    namespace("shop-a", "a");
    namespace("shop-b", "b");
    namespace("moving", "a");
    shards.add(Shard.start("a", "safedefaults.io/shard=a", () -> {
      while (hold.get()) {
        held.set(true);
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      return keys.decryptor();
    }));
    shards.add(Shard.start("b", "safedefaults.io/shard=b"));
  }

  @AfterAll
  static void stop() {
    shards.forEach(Shard::stop);
  }

  static void namespace(String name, String shard) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name)
        .addToLabels("pod-security.kubernetes.io/enforce", "restricted")
        .addToLabels("safedefaults.io/shard", shard).endMetadata().build()).serverSideApply();
  }

  static MicroApp app(String ns, String name) {
    MicroApp app = TestApps.where2eat(ns);
    app.getMetadata().setName(name);
    app.getSpec().setHost(name + "." + ns + ".apps.example.com");
    return app;
  }

  static MicroApp get(String ns, String name) {
    return client.resources(MicroApp.class).inNamespace(ns).withName(name).get();
  }

  /** The app's children exist and its status describes its current spec. */
  static void awaitConverged(String ns, String name, String image) {
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      MicroApp a = get(ns, name);
      assertThat(a.getStatus()).isNotNull();
      assertThat(a.getStatus().getObservedGeneration()).isEqualTo(a.getMetadata().getGeneration());
      Deployment d = client.apps().deployments().inNamespace(ns).withName(name).get();
      assertThat(d).isNotNull();
      assertThat(d.getSpec().getTemplate().getSpec().getContainers()).anyMatch(c -> c.getImage().equals(image));
    });
  }

  static String claimHolder(String ns) {
    Lease claim = client.leases().inNamespace(OPERATOR_NS).withName(NamespaceShard.claimName(ns)).get();
    return claim == null ? null : claim.getSpec().getHolderIdentity();
  }

  /** A write the API server answered, from its audit log. */
  record Write(String agent, String verb, String resource, String namespace, String name, Instant received,
      Instant done, int code) {
    boolean inApp(String ns) {
      return ns.equals(namespace);
    }
  }

  static List<Write> writes() throws Exception {
    List<Write> out = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(AUDIT_LOG))) {
      JsonNode e = JSON.readTree(line);
      if (!"ResponseComplete".equals(e.path("stage").asText())
          || Instant.parse(e.path("requestReceivedTimestamp").asText()).isBefore(started)) {
        continue;
      }
      String agent = e.path("userAgent").asText();
      if (!agent.startsWith("shard-")) {
        continue; // the test's own writes
      }
      JsonNode ref = e.path("objectRef");
      out.add(new Write(agent.substring(0, "shard-x".length()), e.path("verb").asText(),
          ref.path("resource").asText() + (ref.has("subresource") ? "/" + ref.path("subresource").asText() : ""),
          ref.path("namespace").asText(), ref.path("name").asText(),
          Instant.parse(e.path("requestReceivedTimestamp").asText()), Instant.parse(e.path("stageTimestamp").asText()),
          e.path("responseStatus").path("code").asInt()));
    }
    return out;
  }

  static Set<String> writersIn(List<Write> writes, String ns) {
    return writes.stream().filter(w -> w.inApp(ns) && w.code() < 400).map(Write::agent)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  @Test
  void twoShardsConvergeTheirOwnNamespacesAndAMovedNamespaceIsHandedOverWithoutOverlap() throws Exception {
    for (String ns : List.of("shop-a", "shop-b", "moving")) {
      client.resource(app(ns, "app1")).create();
      client.resource(app(ns, "app2")).create();
    }
    for (String ns : List.of("shop-a", "shop-b", "moving")) {
      awaitConverged(ns, "app1", "ghcr.io/acme/where2eat:1.4.2");
      awaitConverged(ns, "app2", "ghcr.io/acme/where2eat:1.4.2");
    }
    assertThat(claimHolder("shop-a")).isEqualTo(OPERATOR_NS + "/microapp-operator-a");
    assertThat(claimHolder("shop-b")).isEqualTo(OPERATOR_NS + "/microapp-operator-b");
    assertThat(claimHolder("moving")).isEqualTo(OPERATOR_NS + "/microapp-operator-a");
    List<Write> before = writes();
    assertThat(writersIn(before, "shop-a")).containsExactly("shard-a");
    assertThat(writersIn(before, "shop-b")).containsExactly("shard-b");
    assertThat(writersIn(before, "moving")).containsExactly("shard-a");
    String manager = appliers(client.apps().deployments().inNamespace("moving").withName("app1").get());

    // Move "moving" to shard b while shard a is in the middle of reconciling a change there: the
    // reconcile has passed the gate and is held before its first write when the label flips.
    hold.set(true);
    client.resources(MicroApp.class).inNamespace("moving").withName("app1").edit(a -> {
      a.getSpec().setImage("ghcr.io/acme/where2eat:1.4.3");
      return a;
    });
    await().atMost(Duration.ofSeconds(30)).untilTrue(held);
    Instant flipped = Instant.now();
    namespace("moving", "b");
    await().atMost(Duration.ofSeconds(10)).until(() -> shards.get(1).namespaces().waiting().contains("moving"));
    Thread.sleep(2000);
    assertThat(shards.get(0).namespaces().owns("moving")).as("the old shard starts nothing more there").isFalse();
    assertThat(claimHolder("moving")).as("not handed over while a reconcile of it runs")
        .isEqualTo(OPERATOR_NS + "/microapp-operator-a");
    assertThat(writersIn(writes(), "moving")).containsExactly("shard-a");
    hold.set(false);
    for (String name : List.of("app1", "app2")) {
      client.resources(MicroApp.class).inNamespace("moving").withName(name).edit(a -> {
        a.getSpec().setImage("ghcr.io/acme/where2eat:1.5.0");
        return a;
      });
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> (OPERATOR_NS + "/microapp-operator-b").equals(claimHolder("moving")));
    awaitConverged("moving", "app1", "ghcr.io/acme/where2eat:1.5.0");
    awaitConverged("moving", "app2", "ghcr.io/acme/where2eat:1.5.0");
    // drift after the handover is repaired by the new shard
    client.services().inNamespace("moving").withName("app1").delete();
    await().atMost(Duration.ofSeconds(30)).until(() ->
        client.services().inNamespace("moving").withName("app1").get() != null);

    List<Write> all = writes();
    List<Write> moving = all.stream().filter(w -> w.inApp("moving") && w.code() < 400).toList();
    Instant lastA = moving.stream().filter(w -> w.agent().equals("shard-a")).map(Write::done).max(Instant::compareTo)
        .orElseThrow();
    Instant firstB = moving.stream().filter(w -> w.agent().equals("shard-b")).map(Write::received)
        .min(Instant::compareTo).orElseThrow();
    assertThat(lastA).as("the held reconcile finished its writes after the flip").isAfter(flipped);
    assertThat(lastA).as("the old shard's last write ends before the new shard's first begins").isBefore(firstB);
    // ... and the claim went between them: released by a, then created by b
    Write released = all.stream().filter(w -> w.agent().equals("shard-a") && w.verb().equals("delete")
        && w.name().equals(NamespaceShard.claimName("moving"))).findFirst().orElseThrow();
    Write claimed = all.stream().filter(w -> w.agent().equals("shard-b") && w.verb().equals("create")
        && w.name().equals(NamespaceShard.claimName("moving"))).findFirst().orElseThrow();
    assertThat(released.done()).isAfterOrEqualTo(lastA).isBefore(claimed.received());
    assertThat(claimed.done()).isBeforeOrEqualTo(firstB);
    // the other namespaces never changed hands
    assertThat(writersIn(all, "shop-a")).containsExactly("shard-a");
    assertThat(writersIn(all, "shop-b")).containsExactly("shard-b");
    // Both shards apply as the same field manager: the new one owns the fields the old one set,
    // no second manager appears and nothing is left behind.
    for (String name : List.of("app1", "app2")) {
      Deployment d = client.apps().deployments().inNamespace("moving").withName(name).get();
      assertThat(appliers(d)).isEqualTo(manager);
      assertThat(d.getSpec().getTemplate().getSpec().getContainers())
          .anyMatch(c -> c.getImage().equals("ghcr.io/acme/where2eat:1.5.0"));
    }
    // the host claims name the apps, not the shard: unchanged by the move
    assertThat(client.leases().inNamespace(OPERATOR_NS).withName(HostClaims.leaseName("app1.moving.apps.example.com"))
        .get().getSpec().getHolderIdentity()).startsWith("moving/app1/");
    assertThat(shards.get(0).namespaces().owned()).contains("shop-a").doesNotContain("moving", "shop-b");
    assertThat(shards.get(1).namespaces().owned()).contains("shop-b", "moving").doesNotContain("shop-a");
  }

  @Test
  void aClaimIsWaitedForWhileItsShardLivesAndTakenOverOnceItsLeaseLapses() throws Exception {
    // A shard "gone" held "orphan" and stopped renewing its Lease (a crashed pod): 3 s left.
    client.leases().inNamespace(OPERATOR_NS).resource(new io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder()
        .withNewMetadata().withName("microapp-operator-gone").withNamespace(OPERATOR_NS).endMetadata()
        .withNewSpec().withHolderIdentity("pod-gone").withLeaseDurationSeconds(3)
        .withAcquireTime(java.time.ZonedDateTime.now()).withRenewTime(java.time.ZonedDateTime.now()).endSpec()
        .build()).create();
    client.leases().inNamespace(OPERATOR_NS).resource(new io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder()
        .withNewMetadata().withName(NamespaceShard.claimName("orphan")).withNamespace(OPERATOR_NS).endMetadata()
        .withNewSpec().withHolderIdentity(OPERATOR_NS + "/microapp-operator-gone").endSpec().build()).create();
    namespace("orphan", "b");
    client.resource(app("orphan", "app1")).create();

    await().atMost(Duration.ofSeconds(10)).until(() -> shards.get(1).namespaces().waiting().contains("orphan"));
    assertThat(get("orphan", "app1").getStatus()).as("not reconciled while the holder's leader may still write").isNull();
    assertThat(writersIn(writes(), "orphan")).isEmpty();

    await().atMost(Duration.ofSeconds(30)).until(() -> (OPERATOR_NS + "/microapp-operator-b").equals(claimHolder("orphan")));
    awaitConverged("orphan", "app1", "ghcr.io/acme/where2eat:1.4.2");
    assertThat(writersIn(writes(), "orphan")).containsExactly("shard-b");
    assertThat(shards.get(1).namespaces().waiting()).doesNotContain("orphan");
  }

  @Test
  void aSelectorTheApiServerCannotParseStopsTheStartWithItsAnswer() {
    List<String> accepted = new ArrayList<>();
    for (String selector : List.of("team in (", "=a", "!", "team notin", "x y", "a=b=c", "team in a,b",
        "Bad Key=1", "a=" + "v".repeat(70))) {
      NamespaceShard shard = new NamespaceShard(client, "c", selector, OPERATOR_NS, OPERATOR_NS, "microapp-operator-c",
          Clock.systemUTC());
      try {
        shard.checkSelector();
        accepted.add(selector);
      } catch (IllegalArgumentException e) {
        assertThat(e.getMessage()).as(selector).contains("--shard-selector '",
            "is not a label selector the API server accepts", "e.g. safedefaults.io/shard=c");
      }
    }
    assertThat(accepted).as("selectors the API server should have refused").isEmpty();
    for (String selector : List.of("safedefaults.io/shard=a", "team in (food,fin)", "!legacy", "safedefaults.io/shard!=b")) {
      new NamespaceShard(client, "c", selector, OPERATOR_NS, OPERATOR_NS, "microapp-operator-c", Clock.systemUTC())
          .checkSelector();
    }
  }

  @Test
  void aNamespaceThatComesBackReadsItsHostClaimsAgainInsteadOfTrustingWhatItKnewBefore() throws Exception {
    String h1 = "x.roaming.apps.example.com";
    namespace("roaming", "a");
    MicroApp x = app("roaming", "x");
    x.getSpec().setHost(h1);
    client.resource(x).create();
    await().atMost(Duration.ofSeconds(60)).until(() -> servesHost("roaming", "x", h1));

    // Under shard b, x moves to another host and gives h1 up; y in shop-b claims h1.
    namespace("roaming", "b");
    await().atMost(Duration.ofSeconds(30)).until(() -> (OPERATOR_NS + "/microapp-operator-b").equals(claimHolder("roaming")));
    setHost("roaming", "x", "x2.roaming.apps.example.com");
    await().atMost(Duration.ofSeconds(60)).until(() -> servesHost("roaming", "x", "x2.roaming.apps.example.com"));
    MicroApp y = app("shop-b", "y");
    y.getSpec().setHost(h1);
    client.resource(y).create();
    await().atMost(Duration.ofSeconds(60)).until(() -> servesHost("shop-b", "y", h1));

    // Back to shard a, and x asks for h1 again: y holds it now, whatever shard a once knew.
    namespace("roaming", "a");
    await().atMost(Duration.ofSeconds(30)).until(() -> (OPERATOR_NS + "/microapp-operator-a").equals(claimHolder("roaming")));
    setHost("roaming", "x", h1);
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      MicroApp now = get("roaming", "x");
      assertThat(now.getStatus().getObservedGeneration()).isEqualTo(now.getMetadata().getGeneration());
      assertThat(now.getStatus().getConditions()).anyMatch(c -> c.getType().equals("Ready")
          && "HostTaken".equals(c.getReason()));
    });
    assertThat(servesHost("roaming", "x", h1)).as("two apps exposed on one host").isFalse();
    assertThat(servesHost("shop-b", "y", h1)).isTrue();
  }

  static void setHost(String ns, String name, String host) {
    client.resources(MicroApp.class).inNamespace(ns).withName(name).edit(a -> {
      a.getSpec().setHost(host);
      return a;
    });
  }

  static boolean servesHost(String ns, String name, String host) {
    var ingress = client.network().v1().ingresses().inNamespace(ns).withName(name).get();
    return ingress != null && ingress.getSpec().getRules().stream().anyMatch(r -> host.equals(r.getHost()));
  }

  /** The managers that server-side-applied the object, e.g. "microapp". */
  static String appliers(Deployment d) {
    return d.getMetadata().getManagedFields().stream().filter(m -> "Apply".equals(m.getOperation()))
        .map(ManagedFieldsEntry::getManager).sorted().distinct().collect(Collectors.joining(","));
  }
}
