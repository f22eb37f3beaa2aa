package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.SecretsSpec;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.secrets.SealedValue;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.status.Conditions;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A reconcile resolves the app's plan once and opens its sealed values once, however many
 * dependents and preconditions read them: they share what the reconciler put into the context.
 * Counted at the only ways in, the namespace's policy and the decryptor the reconciler is given.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class OncePerReconcileApiServerTest {
  static KubernetesClient client;
  static final String KEYS_NS = "microapp-system";
  static final String NS = "team-food";
  static final OperatorConfig POLICY = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
      .defaultIssuer("https://login.example.com/realms/acme").build();

  @Test
  void eachReconcileResolvesThePlanAndOpensTheSealedValuesOnce() throws Exception {
    TestCluster.installCrd(client);
    TestCluster.restrictedNamespace(client, KEYS_NS);
    TestCluster.restrictedNamespace(client, NS);
    AtomicInteger reconciles = new AtomicInteger();
    AtomicInteger plans = new AtomicInteger();
    AtomicInteger openings = new AtomicInteger();
    try (SealingKeyStore keys = new SealingKeyStore(client, KEYS_NS, Duration.ofDays(30), Clock.systemUTC())) {
      keys.ensure(List.of(), false);
      MicroAppReconciler reconciler = new MicroAppReconciler(ns -> {
        plans.incrementAndGet();
        return POLICY;
      }, new HostClaims(KEYS_NS), new OperatorMetrics(new SimpleMeterRegistry()), () -> {
        openings.incrementAndGet();
        return keys.decryptor();
      }, Duration.ofDays(30), Clock.systemUTC()) {
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
        MicroApp app = TestApps.where2eat(NS);
        app.getSpec().setSecrets(new SecretsSpec());
        app.getSpec().getSecrets().getSealed().put("MAPS_API_KEY", new Sealer(keys.publicKeys())
            .seal("maps-key".getBytes(StandardCharsets.UTF_8), SealedValue.Scope.APP, NS, "where2eat", "MAPS_API_KEY")
            .text());
        client.resource(app).create();
        // every dependent ran: the sealed values' Secret, the sidecar's ConfigMap, the Deployment, the purge
        await().atMost(Duration.ofSeconds(30)).until(() -> client.secrets().inNamespace(NS).withName("where2eat-sealed")
            .get() != null && client.apps().deployments().inNamespace(NS).withName("where2eat").get() != null
            && client.batch().v1().cronjobs().inNamespace(NS).withName("where2eat-purge").get() != null
            && secretsSealed());
        client.resources(MicroApp.class).inNamespace(NS).withName("where2eat")
            .edit(a -> {
              a.getSpec().getAuth().setSessionTTL("4h");
              return a;
            });
        await().atMost(Duration.ofSeconds(30)).until(() -> client.apps().deployments().inNamespace(NS)
            .withName("where2eat").get().getSpec().getTemplate().getMetadata().getAnnotations()
            .get("safedefaults.io/config-hash") != null && observedGeneration() == 2);
      } finally {
        operator.stop();
      }
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(reconciles.get()).as("reconciles").isGreaterThanOrEqualTo(2);
      assertThat(plans.get()).as("policy lookups, one for each plan resolved").isEqualTo(reconciles.get());
      assertThat(openings.get()).as("decryptor lookups, one for each opening of the sealed values")
          .isEqualTo(reconciles.get());
    });
  }

  static boolean secretsSealed() {
    MicroApp a = client.resources(MicroApp.class).inNamespace(NS).withName("where2eat").get();
    return Conditions.find(a.getStatus(), Conditions.SECRETS_SEALED).map(c -> "True".equals(c.getStatus()))
        .orElse(false);
  }

  static long observedGeneration() {
    MicroApp a = client.resources(MicroApp.class).inNamespace(NS).withName("where2eat").get();
    return a.getStatus() == null || a.getStatus().getObservedGeneration() == null ? 0 : a.getStatus().getObservedGeneration();
  }
}
