package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Drift server-side apply alone cannot repair: a hand edit that replaces a list the operator owns
 * leaves entries of another field manager, and when one collides with the operator's (a Service
 * port named like its own, on another port number) every apply is refused as invalid. The child
 * is then replaced once with its desired state. Generated edits of a Service's ports, each of
 * which a person might make, all end with exactly the operator's port again.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class ForeignListEntriesApiServerTest {
  static KubernetesClient client;
  static final String KEYS_NS = "microapp-system";
  static final String NS = "team-food";
  static final OperatorConfig POLICY = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").build();
  static SealingKeyStore keys;
  static Operator operator;

  @BeforeAll
  static void start() throws Exception {
    TestCluster.installCrd(client);
    TestCluster.restrictedNamespace(client, KEYS_NS);
    TestCluster.restrictedNamespace(client, NS);
    keys = new SealingKeyStore(client, KEYS_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure(List.of(), false);
    MicroAppReconciler reconciler = new MicroAppReconciler(ns -> POLICY, new HostClaims(KEYS_NS),
        new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC());
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofHours(1)));
    operator.start();
  }

  @AfterAll
  static void stop() throws Exception {
    operator.stop();
    keys.close();
  }

  static List<String> ports(Service s) {
    return s.getSpec().getPorts().stream()
        .map(p -> p.getName() + ":" + p.getPort() + "/" + p.getProtocol() + "->" + p.getTargetPort().getStrVal()
            + p.getTargetPort().getIntVal()).sorted().toList();
  }

  @Test
  void aReplacedPortsListComesBackAsTheOperatorsOwn() throws Exception {
    client.resource(TestApps.where2eat(NS)).create();
    Service original = await().atMost(Duration.ofSeconds(60))
        .until(() -> client.services().inNamespace(NS).withName("where2eat").get(), s -> s != null);
    List<String> want = ports(original);
    ServicePort own = original.getSpec().getPorts().get(0);
    Random random = new Random(1616);
    List<String> edits = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      int other = 1024 + random.nextInt(30000);
      String name = own.getName();
      String target = random.nextBoolean() ? "9" + random.nextInt(1000) : "\"" + own.getTargetPort().getStrVal() + "\"";
      edits.add(switch (i % 4) {
        // the same name on another port number: the collision server-side apply cannot resolve
        case 0 -> "[{\"name\":\"" + name + "\",\"port\":" + other + ",\"protocol\":\"TCP\",\"targetPort\":" + target + "}]";
        // another name on the operator's port number, plus a second port
        case 1 -> "[{\"name\":\"x" + i + "\",\"port\":" + own.getPort() + ",\"protocol\":\"TCP\",\"targetPort\":" + target
            + "},{\"name\":\"" + name + "\",\"port\":" + other + ",\"protocol\":\"TCP\",\"targetPort\":" + target + "}]";
        // the same name on UDP
        case 2 -> "[{\"name\":\"" + name + "\",\"port\":" + other + ",\"protocol\":\"UDP\",\"targetPort\":" + target + "}]";
        // a port under another name only
        default -> "[{\"name\":\"extra" + i + "\",\"port\":" + other + ",\"protocol\":\"TCP\",\"targetPort\":" + target + "}]";
      });
    }
    for (String edit : edits) {
      client.services().inNamespace(NS).withName("where2eat")
          .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"ports\":" + edit + "}}");
      await(edit).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(
          () -> ports(client.services().inNamespace(NS).withName("where2eat").get()), want::equals);
    }
    assertThat(client.services().inNamespace(NS).withName("where2eat").get().getSpec().getClusterIP())
        .as("replaced in place, not recreated").isEqualTo(original.getSpec().getClusterIP());
  }
}
