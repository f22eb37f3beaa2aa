package io.safedefaults.microapp.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.MicroAppSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Exposure precedence (PolicyMerge#exposure), over generated sets of policies: no policy sets it,
 * the flags' choice; all that set it agree, theirs; they differ, the app is exposed nowhere and
 * its status names the policies. Never one policy's choice silently winning over another's.
 */
class ExposurePrecedenceTest {
  static final Exposure FLAG_GATEWAY = Exposure.gateway("--", "public", "gateway-system", "https", "http", List.of());
  static final List<MicroAppPolicySpec.ExposureSpec> CHOICES = List.of(
      spec(MicroAppPolicySpec.ExposureMode.INGRESS, null, null),
      spec(MicroAppPolicySpec.ExposureMode.GATEWAY, "public", "gateway-system"),
      spec(MicroAppPolicySpec.ExposureMode.GATEWAY, "internal", "gateway-system"),
      spec(MicroAppPolicySpec.ExposureMode.GATEWAY, "public", "edge"));

  @Test
  void agreeingPoliciesChooseTheirExposureDisagreeingOnesExposeNothing() {
    Random random = new Random(151207L);
    for (OperatorConfig flags : List.of(PolicyMergeTest.FLAGS,
        PolicyMergeTest.FLAGS.toBuilder().exposure(FLAG_GATEWAY).build())) {
      for (int round = 0; round < 500; round++) {
        List<MicroAppPolicy> policies = new ArrayList<>();
        int n = 1 + random.nextInt(4);
        for (int i = 0; i < n; i++) {
          MicroAppPolicy p = PolicyMergeTest.policy("p" + i, Map.of());
          if (random.nextInt(3) > 0) {
            p.getSpec().setExposure(CHOICES.get(random.nextInt(random.nextBoolean() ? 2 : CHOICES.size())));
          }
          policies.add(p);
        }
        Exposure merged = PolicyMerge.effective(flags, PolicyMerge.selecting(policies, Map.of())).exposure();
        List<MicroAppPolicy> shuffled = new ArrayList<>(policies);
        Collections.shuffle(shuffled, random);
        assertThat(PolicyMerge.effective(flags, PolicyMerge.selecting(shuffled, Map.of())).exposure())
            .as("order independence, round %d", round).isEqualTo(merged);

        List<MicroAppPolicySpec.ExposureSpec> set = policies.stream().map(p -> p.getSpec().getExposure())
            .filter(e -> e != null).distinct().toList();
        if (set.isEmpty()) {
          assertThat(merged).isEqualTo(flags.exposure());
        } else if (set.size() == 1) {
          assertThat(merged.conflict()).isNull();
          assertThat(merged.gatewayMode()).isEqualTo(set.get(0).getMode() == MicroAppPolicySpec.ExposureMode.GATEWAY);
          if (merged.gatewayMode()) {
            assertThat(merged.gateway().name()).isEqualTo(set.get(0).getGateway().getName());
            assertThat(merged.gateway().namespace()).isEqualTo(set.get(0).getGateway().getNamespace());
          }
        } else {
          assertThat(merged.conflict()).as("round %d: %s", round, set).isNotNull()
              .contains("choose different exposures");
          policies.stream().filter(p -> p.getSpec().getExposure() != null)
              .forEach(p -> assertThat(merged.conflict()).contains(p.getMetadata().getName()));
          MicroApp app = app("shop.apps.example.com");
          AppPlan plan = AppPlan.resolve(app, PolicyMerge.effective(flags, PolicyMerge.selecting(policies, Map.of())));
          assertThat(plan.exposed()).isFalse();
          assertThat(plan.problems()).anyMatch(p -> p.reason().equals("ExposureConflict") && p.blocksExposure());
        }
      }
    }
  }

  @Test
  void gatewayModeDefaultsItsListenersAndDataPlaneToTheGatewaysNamespace() {
    MicroAppPolicy p = PolicyMergeTest.policy("edge", Map.of());
    p.getSpec().setExposure(spec(MicroAppPolicySpec.ExposureMode.GATEWAY, "public", "gateway-system"));
    Exposure e = PolicyMerge.effective(PolicyMergeTest.FLAGS, List.of(p)).exposure();
    assertThat(e.gateway()).isEqualTo(new Exposure.Gateway("public", "gateway-system", "https", "http",
        List.of("gateway-system")));
    // Gateway mode needs no --cluster-issuer: the listener's certificate is the platform's.
    OperatorConfig noIssuer = OperatorConfig.builder().defaultIssuer("https://login.example.com").build();
    assertThat(AppPlan.resolve(app("shop.apps.example.com"), noIssuer).problems())
        .anyMatch(x -> x.reason().equals("ClusterIssuerMissing"));
    assertThat(AppPlan.resolve(app("shop.apps.example.com"), noIssuer.toBuilder().exposure(e).build()).exposed())
        .isTrue();
  }

  @Test
  void badGatewayFlagsStopTheOperatorNamingTheFlag() {
    String[][] bad = {
        {null, "gateway-system", "https", "http", "--gateway-name"},
        {"Public", "gateway-system", "https", "http", "--gateway-name"},
        {"public", null, "https", "http", "--gateway-namespace"},
        {"public", "gw_system", "https", "http", "--gateway-namespace"},
        {"public", "gateway-system", "HTTPS", "http", "--gateway-https-listener"},
        {"public", "gateway-system", "https", "", "--gateway-http-listener"},
        {"public", "gateway-system", "web", "web", "--gateway-http-listener must differ"},
    };
    for (String[] b : bad) {
      assertThatThrownBy(() -> Exposure.gateway("--", b[0], b[1], b[2], b[3], List.of()))
          .as("%s", String.join(",", String.valueOf(b[0]), String.valueOf(b[1]), b[2], b[3])).hasMessageContaining(b[4]);
    }
    assertThatThrownBy(() -> Exposure.gateway("--", "public", "gw", "https", "http", List.of("Envoy")))
        .hasMessageContaining("--gateway-data-plane-namespaces");
    assertThatThrownBy(() -> Exposure.Kind.parse("--exposure", "gateway-api")).hasMessageContaining("--exposure")
        .hasMessageContaining("ingress, gateway");
  }

  static MicroAppPolicySpec.ExposureSpec spec(MicroAppPolicySpec.ExposureMode mode, String name, String namespace) {
    MicroAppPolicySpec.ExposureSpec e = new MicroAppPolicySpec.ExposureSpec();
    e.setMode(mode);
    if (name != null) {
      MicroAppPolicySpec.GatewayRef g = new MicroAppPolicySpec.GatewayRef();
      g.setName(name);
      g.setNamespace(namespace);
      e.setGateway(g);
    }
    return e;
  }

  static MicroApp app(String host) {
    MicroApp app = new MicroApp();
    app.setMetadata(new ObjectMetaBuilder().withName("shop").withNamespace("team-shop").build());
    MicroAppSpec s = new MicroAppSpec();
    s.setImage("ghcr.io/acme/shop:1.0.0");
    s.setHost(host);
    app.setSpec(s);
    return app;
  }
}
