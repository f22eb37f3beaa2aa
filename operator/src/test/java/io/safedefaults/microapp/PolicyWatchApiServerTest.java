package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.PolicyWatch;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An operator upgraded without the MicroAppPolicy CRD (Helm never upgrades CRDs) starts and applies
 * its flags to every namespace; once policies are served, a new start reads them.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class PolicyWatchApiServerTest {
  static KubernetesClient client;

  @Test
  void withoutTheCrdTheFlagsApplyAndWithItPoliciesDo() throws Exception {
    OperatorConfig flags = OperatorConfig.builder().build();
    TestCluster.restrictedNamespace(client, "team-a");
    try (PolicyWatch watch = new PolicyWatch(client, flags, java.time.Clock.systemUTC()).start()) {
      assertThat(watch.apply("team-a")).isSameAs(flags);
      assertThat(watch.apply("no-such-namespace")).isSameAs(flags);
    }

    TestCluster.installCrd(client, TestFiles.POLICIES);
    client.resource(MultiTenantApiServerTest.policy("all", Map.of(),
        io.safedefaults.microapp.api.MicroAppPolicySpec.Mode.AUDIT, "apps.example.com")).create();
    try (PolicyWatch watch = new PolicyWatch(client, flags, java.time.Clock.systemUTC()).start()) {
      OperatorConfig a = watch.apply("team-a");
      assertThat(a.policies()).containsExactly("all");
      assertThat(a.mode()).isEqualTo(OperatorConfig.Mode.AUDIT);
      assertThat(a.allowedHostSuffixes()).containsExactly("apps.example.com");
    }
  }
}
