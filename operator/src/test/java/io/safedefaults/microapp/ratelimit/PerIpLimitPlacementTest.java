package io.safedefaults.microapp.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.Observed;
import io.safedefaults.microapp.tls.IngressTlsDefault;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Where the per-IP limit applies: never as one sidecar bucket shared by every user behind the
 * ingress controller, and RateLimited says where it does apply, or that it applies nowhere.
 */
class PerIpLimitPlacementTest {
  static OperatorConfig policy(String flavor, List<String> trusted) {
    return OperatorConfig.builder().clusterIssuer("letsencrypt").defaultIssuer("https://login.example.com/realms/acme")
        .ingressFlavor(flavor).trustedProxyCidrs(trusted).build();
  }

  static int sidecarPerIp(AppPlan plan, MicroApp app) throws Exception {
    String json = SidecarConfig.desired(app, plan).getData().values().iterator().next();
    return new ObjectMapper().readTree(json).path("rateLimit").path("perIpPerMinute").asInt(-1);
  }

  static CheckResult check(AppPlan plan, MicroApp app) {
    Ingress ingress = plan.exposed() ? IngressTlsDefault.desired(app, plan) : null;
    return RateLimitCheck.check(plan, new Observed(null, null, null, null, ingress, null, null, null, null, List.of(), ImageScan.of(ImageScan.State.NOT_REQUIRED, null)));
  }

  @Test
  void theSidecarLimitsPerIpOnlyWhenItCanTellClientsApart() throws Exception {
    MicroApp app = TestApps.where2eat("team-a");
    for (String flavor : List.of("nginx", "traefik")) {
      for (List<String> trusted : List.of(List.<String>of(), List.of("10.244.0.0/16"))) {
        AppPlan plan = AppPlan.resolve(app, policy(flavor, trusted));
        boolean edge = flavor.equals("nginx");
        assertThat(sidecarPerIp(plan, app)).as("%s %s", flavor, trusted).isEqualTo(trusted.isEmpty() ? 0 : 100);
        CheckResult result = check(plan, app);
        if (!edge && trusted.isEmpty()) {
          assertThat(result.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
          assertThat(result.reason()).isEqualTo("NoPerIpLimit");
          assertThat(result.message()).contains("--trusted-proxy-cidrs");
        } else {
          assertThat(result.outcome()).as("%s %s", flavor, trusted).isEqualTo(CheckResult.Outcome.PASSED);
          assertThat(result.message()).contains(edge && !trusted.isEmpty() ? "at the edge and in the sidecar"
              : edge ? "at the edge only" : "in the sidecar");
        }
      }
    }
    MicroApp internal = TestApps.where2eat("team-a");
    internal.getSpec().setHost(null);
    AppPlan plan = AppPlan.resolve(internal, policy("traefik", List.of()));
    assertThat(sidecarPerIp(plan, internal)).as("callers reach an internal app directly").isEqualTo(100);
  }
}
