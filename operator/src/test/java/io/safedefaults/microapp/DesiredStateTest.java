package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.safedefaults.microapp.access.AppNetworkPolicy;
import io.safedefaults.microapp.access.AppServiceAccount;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.auth.SessionKeys;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.kube.SidecarRuntime;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.tls.IngressTlsDefault;
import io.safedefaults.microapp.workload.AppDeployment;
import io.safedefaults.microapp.workload.AppService;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pure desired() builders, checked against the checklist without a cluster. */
class DesiredStateTest {
  static final OperatorConfig POLICY = OperatorConfig.builder()
      .clusterIssuer("letsencrypt").defaultIssuer("https://login.example.com").build();

  MicroApp app = TestApps.where2eat("team-food");

  AppPlan plan() {
    return AppPlan.resolve(app, POLICY);
  }

  @Test
  void podRunsAppBehindSidecarUnderPodSecurityRestricted() {
    Deployment d = AppDeployment.desired(app, plan());
    PodSpec pod = d.getSpec().getTemplate().getSpec();
    assertThat(pod.getContainers()).extracting(Container::getName).containsExactly("app", "auth-proxy");
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
    assertThat(pod.getServiceAccountName()).isEqualTo("where2eat");
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    for (Container c : pod.getContainers()) {
      assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).as(c.getName()).isFalse();
      assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).as(c.getName()).isTrue();
      assertThat(c.getSecurityContext().getCapabilities().getDrop()).as(c.getName()).containsExactly("ALL");
      assertThat(c.getResources().getLimits()).as(c.getName()).containsKeys("cpu", "memory");
      assertThat(c.getResources().getRequests()).as(c.getName()).containsKeys("cpu", "memory");
      assertThat(c.getVolumeMounts()).as(c.getName() + " writable /tmp").anyMatch(m -> m.getMountPath().equals("/tmp"));
    }
    Container sidecar = pod.getContainers().get(1);
    assertThat(sidecar.getImage()).isEqualTo(POLICY.sidecarImage());
    assertThat(sidecar.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(sidecar.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
    // Only the session-key secret is mounted, and only into the sidecar.
    assertThat(pod.getContainers().get(0).getVolumeMounts()).noneMatch(m -> m.getName().contains("keys"));
  }

  @Test
  void sidecarRunsWithTheJvmFlagsTheBenchmarkMeasured() throws Exception {
    Container sidecar = AppDeployment.desired(app, plan()).getSpec().getTemplate().getSpec().getContainers().get(1);
    assertThat(sidecar.getEnv()).anyMatch(e -> e.getName().equals("JAVA_TOOL_OPTIONS")
        && e.getValue().equals(SidecarRuntime.JVM_OPTIONS));
    // The benchmark's default and the documented flags must be the shipped ones, or the recorded
    // RSS and latency figures describe a different JVM.
    String bench = java.nio.file.Files.readString(TestFiles.repoFile("sidecar/bench/run-benchmark.sh"));
    assertThat(bench).contains("SIDECAR_JAVA_OPTS=${SIDECAR_JAVA_OPTS:-" + SidecarRuntime.JVM_OPTIONS + "}");
    String readme = java.nio.file.Files.readString(TestFiles.repoFile("sidecar/README.md"));
    assertThat(readme).contains("JAVA_TOOL_OPTIONS=\"" + SidecarRuntime.JVM_OPTIONS + "\"");
  }

  @Test
  void serviceExposesOnlyTheSidecar() {
    var svc = AppService.desired(app);
    assertThat(svc.getSpec().getPorts()).singleElement().satisfies(p -> {
      assertThat(p.getTargetPort().getStrVal()).isEqualTo(Names.SIDECAR_PORT_NAME);
      assertThat(p.getPort()).isEqualTo(80);
    });
    assertThat(svc.getSpec().getType()).isEqualTo("ClusterIP");
  }

  @Test
  void ingressForcesTlsAndEdgeLimitsAndNeverCopiesAnnotations() {
    app.getMetadata().getAnnotations().put("nginx.ingress.kubernetes.io/configuration-snippet", "return 200;");
    app.getMetadata().getAnnotations().put("nginx.ingress.kubernetes.io/auth-url", "http://evil");
    Ingress ing = IngressTlsDefault.desired(app, plan());
    assertThat(ing.getSpec().getTls()).singleElement().satisfies(t -> {
      assertThat(t.getHosts()).containsExactly("where2eat.apps.example.com");
      assertThat(t.getSecretName()).isEqualTo("where2eat-tls");
    });
    assertThat(ing.getMetadata().getAnnotations())
        .containsEntry("cert-manager.io/cluster-issuer", "letsencrypt")
        .containsEntry("nginx.ingress.kubernetes.io/force-ssl-redirect", "true")
        .containsEntry("nginx.ingress.kubernetes.io/limit-rpm", "100")
        .containsEntry("nginx.ingress.kubernetes.io/limit-rps", "10")
        .doesNotContainKey("nginx.ingress.kubernetes.io/auth-url");
    assertThat(ing.getMetadata().getAnnotations().keySet()).noneMatch(k -> k.contains("snippet"));
    assertThat(ing.getSpec().getRules().get(0).getHttp().getPaths().get(0).getBackend().getService().getPort()
        .getName()).isEqualTo("http");
  }

  @Test
  void traefikFlavorRoutesOnlyOverTls() {
    OperatorConfig traefik = OperatorConfig.builder().clusterIssuer("le").defaultIssuer("https://i")
        .ingressClassName("traefik").build();
    Ingress ing = IngressTlsDefault.desired(app, AppPlan.resolve(app, traefik));
    assertThat(ing.getMetadata().getAnnotations())
        .containsEntry("traefik.ingress.kubernetes.io/router.entrypoints", "websecure")
        .containsEntry("traefik.ingress.kubernetes.io/router.tls", "true");
    assertThat(ing.getMetadata().getAnnotations().keySet()).noneMatch(k -> k.startsWith("nginx."));
  }

  @Test
  void networkPolicyAdmitsOnlyTheSidecarPortFromTheIngressNamespace() {
    NetworkPolicy np = AppNetworkPolicy.desired(app, plan());
    assertThat(np.getSpec().getPolicyTypes()).containsExactly("Ingress");
    assertThat(np.getSpec().getIngress()).singleElement().satisfies(rule -> {
      assertThat(rule.getPorts()).singleElement().satisfies(p -> assertThat(p.getPort().getIntVal()).isEqualTo(4180));
      // The ingress controller's namespace, and the app's own purge job (same namespace, by label).
      assertThat(rule.getFrom()).hasSize(2);
      assertThat(rule.getFrom().get(0).getNamespaceSelector().getMatchLabels())
          .containsEntry("kubernetes.io/metadata.name", "ingress-nginx");
      assertThat(rule.getFrom().get(1).getNamespaceSelector()).isNull();
      assertThat(rule.getFrom().get(1).getPodSelector().getMatchLabels())
          .containsExactly(java.util.Map.entry("safedefaults.io/purge-for", "where2eat"));
    });
  }

  @Test
  void networkPolicyOverrideOpensNamespacesButNotTheAppPort() {
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.NETWORK_POLICY, "scraped by the reporting namespace"));
    OperatorConfig lenient = OperatorConfig.builder().clusterIssuer("le").defaultIssuer("https://i")
        .allowedOverrides(Set.of(Setting.NETWORK_POLICY)).build();
    NetworkPolicy np = AppNetworkPolicy.desired(app, AppPlan.resolve(app, lenient));
    assertThat(np.getSpec().getIngress().get(0).getFrom().get(0).getNamespaceSelector().getMatchLabels()).isNullOrEmpty();
    assertThat(np.getSpec().getIngress().get(0).getPorts()).singleElement()
        .satisfies(p -> assertThat(p.getPort().getIntVal()).isEqualTo(4180));
  }

  @Test
  void serviceAccountMountsNoToken() {
    assertThat(AppServiceAccount.desired(app).getAutomountServiceAccountToken()).isFalse();
  }

  @Test
  void configChangesRollThePodsAndUnchangedConfigDoesNot() {
    String before = AppDeployment.desired(app, plan()).getSpec().getTemplate().getMetadata().getAnnotations()
        .get(Names.CONFIG_HASH_ANNOTATION);
    assertThat(AppDeployment.desired(app, plan()).getSpec().getTemplate().getMetadata().getAnnotations()
        .get(Names.CONFIG_HASH_ANNOTATION)).isEqualTo(before);
    app.getSpec().getAuth().setSessionTTL("2h");
    assertThat(AppDeployment.desired(app, plan()).getSpec().getTemplate().getMetadata().getAnnotations()
        .get(Names.CONFIG_HASH_ANNOTATION)).isNotEqualTo(before);
  }

  @Test
  void sidecarConfigCarriesTheResolvedDefaults() {
    String json = SidecarConfig.json(plan());
    assertThat(json).contains("\"upstream\" : \"http://127.0.0.1:8080\"")
        .contains("\"ttlSeconds\" : 28800")
        .contains("\"rememberMe\" : false")
        .contains("\"required\" : true")
        .contains("\"perUserPerMinute\" : 60")
        .contains("\"visibility\" : \"private\"")
        .contains("\"trustedProxyCidrs\" : [ ]");
  }

  @Test
  void everySessionKeysetIsFreshAndOnlyInTheSecret() {
    String a = new String(java.util.Base64.getDecoder().decode(SessionKeys.desired(app).getData().get(SidecarConfig.KEYSET_FILE)),
        java.nio.charset.StandardCharsets.UTF_8);
    String b = new String(java.util.Base64.getDecoder().decode(SessionKeys.desired(app).getData().get(SidecarConfig.KEYSET_FILE)),
        java.nio.charset.StandardCharsets.UTF_8);
    assertThat(a).contains("AesGcmKey").isNotEqualTo(b);
    assertThat(SidecarConfig.json(plan())).doesNotContain("AesGcmKey");
  }
}
