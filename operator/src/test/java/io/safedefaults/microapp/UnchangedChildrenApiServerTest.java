package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A reconcile that meets children nobody changed, with an unchanged app and policy (a resync, a
 * policy event elsewhere, another child's event), answers every child from its fingerprint instead
 * of comparing it in full: that comparison was most of a converged app's cost per resync. Drift and
 * spec changes still reach the children, because each changes what the fingerprint is made of.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class UnchangedChildrenApiServerTest {
  static KubernetesClient client;
  static final String KEYS_NS = "microapp-system";
  static final String NS = "team-food";
  static final OperatorConfig POLICY = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").build();

  @Test
  void unchangedChildrenAreNotComparedAgainButDriftAndSpecChangesStillApply() throws Exception {
    TestCluster.installCrd(client);
    TestCluster.restrictedNamespace(client, KEYS_NS);
    TestCluster.restrictedNamespace(client, NS);
    AtomicInteger reconciles = new AtomicInteger();
    try (SealingKeyStore keys = new SealingKeyStore(client, KEYS_NS, Duration.ofDays(30), Clock.systemUTC())) {
      keys.ensure(List.of(), false);
      MicroAppReconciler reconciler = new MicroAppReconciler(ns -> POLICY, new HostClaims(KEYS_NS),
          new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC()) {
        @Override
        public UpdateControl<MicroApp> reconcile(MicroApp app, Context<MicroApp> context) {
          try {
            return super.reconcile(app, context);
          } finally {
            reconciles.incrementAndGet();
          }
        }
      };
      Operator operator = new Operator(o -> o.withKubernetesClient(TestCluster.operatorClient(client)));
      operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofHours(1)));
      operator.start();
      try {
        client.resource(TestApps.where2eat(NS)).create();
        await().atMost(Duration.ofSeconds(60)).until(() -> observedGeneration() == 1
            && client.network().v1().ingresses().inNamespace(NS).withName("where2eat").get() != null);
        // one reconcile more that finds everything in place, so each child has matched once
        settle(reconciler, reconciles);

        long before = reconciler.fullChildMatches();
        for (int i = 0; i < 3; i++) {
          settle(reconciler, reconciles);
        }
        assertThat(reconciler.fullChildMatches()).as("full comparisons on reconciles that changed nothing")
            .isEqualTo(before);

        // kube-controller-manager writing the Deployment's status (as it does while pods start): each
        // write is an event and a reconcile, but no child needs comparing again
        for (int i = 1; i <= 3; i++) {
          int seen = reconciles.get();
          int replicas = i;
          client.apps().deployments().inNamespace(NS).withName("where2eat").editStatus(d -> {
            d.getStatus().setObservedGeneration(d.getMetadata().getGeneration());
            d.getStatus().setReplicas(replicas);
            d.getStatus().setUpdatedReplicas(replicas);
            return d;
          });
          await().atMost(Duration.ofSeconds(30)).until(() -> reconciles.get() > seen);
        }
        Thread.sleep(1000);
        assertThat(reconciler.fullChildMatches()).as("full comparisons after Deployment status writes").isEqualTo(before);

        // drift in the Deployment's metadata (no new generation) is still seen and put back, the
        // app's own label included (it must not make the app's Deployment look like a stranger's)
        for (String key : List.of("app.kubernetes.io/name", io.safedefaults.microapp.kube.Names.APP_LABEL)) {
          String value = client.apps().deployments().inNamespace(NS).withName("where2eat").get().getMetadata()
              .getLabels().get(key);
          client.apps().deployments().inNamespace(NS).withName("where2eat").edit(d -> {
            d.getMetadata().getLabels().put(key, "someone-else");
            return d;
          });
          await(key).atMost(Duration.ofSeconds(30)).until(() -> value.equals(client.apps().deployments().inNamespace(NS)
              .withName("where2eat").get().getMetadata().getLabels().get(key)));
        }
        before = reconciler.fullChildMatches();

        // drift: the Service is edited to send traffic to another port, past the sidecar; it is put back
        Service svc = client.services().inNamespace(NS).withName("where2eat").get();
        client.services().inNamespace(NS).withName("where2eat").edit(s -> {
          s.getSpec().getPorts().forEach(p -> p.setTargetPort(new IntOrString(9999)));
          return s;
        });
        await().atMost(Duration.ofSeconds(30)).until(() -> client.services().inNamespace(NS).withName("where2eat")
            .get().getSpec().getPorts().stream().map(ServicePort::getTargetPort).toList()
            .equals(svc.getSpec().getPorts().stream().map(ServicePort::getTargetPort).toList()));
        assertThat(reconciler.fullChildMatches()).as("the edited Service was compared in full").isGreaterThan(before);

        // a spec change reaches the Ingress although the Ingress itself did not change
        client.resources(MicroApp.class).inNamespace(NS).withName("where2eat").edit(a -> {
          a.getSpec().getRateLimit().getPerIP().setRequestsPerMinute(42);
          return a;
        });
        await().atMost(Duration.ofSeconds(30)).until(() -> "42".equals(client.network().v1().ingresses()
            .inNamespace(NS).withName("where2eat").get().getMetadata().getAnnotations()
            .get("nginx.ingress.kubernetes.io/limit-rpm")));
      } finally {
        operator.stop();
      }
    }
  }

  /** Asks for one reconcile of the app (as a policy change in its namespace does) and waits for it. */
  private static void settle(MicroAppReconciler reconciler, AtomicInteger reconciles) {
    int seen = reconciles.get();
    reconciler.policyChanged(Set.of(NS));
    await().atMost(Duration.ofSeconds(30)).until(() -> reconciles.get() > seen);
    // let the events of that reconcile's own writes (if any) pass
    try {
      Thread.sleep(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static long observedGeneration() {
    MicroApp a = client.resources(MicroApp.class).inNamespace(NS).withName("where2eat").get();
    return a == null || a.getStatus() == null || a.getStatus().getObservedGeneration() == null
        ? 0 : a.getStatus().getObservedGeneration();
  }
}
