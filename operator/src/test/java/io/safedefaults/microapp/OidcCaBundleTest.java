package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.safedefaults.microapp.access.AppNetworkPolicy;
import io.safedefaults.microapp.access.AppServiceAccount;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kube.ContentHash;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.retention.PurgeJob;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.Observed;
import io.safedefaults.microapp.tls.IngressTlsDefault;
import io.safedefaults.microapp.workload.AppDeployment;
import io.safedefaults.microapp.workload.AppService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * --oidc-ca-file reaches every app's sidecar: the PEM as a second key of the sidecar ConfigMap,
 * oidc.caFile naming it where the ConfigMap is mounted, and the pod template's config hash covering
 * it, so pods roll when the bundle changes and not otherwise.
 */
class OidcCaBundleTest {
  static final Path FIXTURES = Path.of("src/test/resources/oidc-ca");
  static final String CA_PATH = "/etc/microapp-sidecar/oidc-ca.pem";

  MicroApp app = TestApps.where2eat("team-food");

  static String fixture(String name) throws Exception {
    return Files.readString(FIXTURES.resolve(name + ".pem"));
  }

  static OperatorConfig policy(String caBundle) {
    return OperatorConfig.builder().clusterIssuer("le").defaultIssuer("https://login.example.com")
        .oidcCaBundle(caBundle).build();
  }

  static String configHash(Deployment d) {
    return d.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.CONFIG_HASH_ANNOTATION);
  }

  @Test
  void withoutTheFlagTheSidecarConfigAndItsHashAreWhatTheyAlwaysWere() {
    AppPlan plan = AppPlan.resolve(app, policy(null));
    ConfigMap cm = SidecarConfig.desired(app, plan);
    assertThat(cm.getData()).containsOnlyKeys(SidecarConfig.FILE);
    assertThat(SidecarConfig.json(plan)).doesNotContain("caFile");
    // the same annotation value as before the CA existed: upgrading the operator rolls no pod
    assertThat(configHash(AppDeployment.desired(app, plan))).isEqualTo(ContentHash.of(SidecarConfig.json(plan)));
  }

  @Test
  void theBundleIsASecondKeyOfTheMountedConfigMapNamedByOidcCaFile() throws Exception {
    String pem = fixture("acme-test-root-ca");
    AppPlan plan = AppPlan.resolve(app, policy(pem));
    ConfigMap cm = SidecarConfig.desired(app, plan);
    assertThat(cm.getData()).containsOnlyKeys(SidecarConfig.FILE, SidecarConfig.OIDC_CA_FILE);
    assertThat(cm.getData().get(SidecarConfig.OIDC_CA_FILE)).isEqualTo(pem);
    assertThat(cm.getData().get(SidecarConfig.FILE)).contains("\"caFile\" : \"" + CA_PATH + "\"");

    // every key of the ConfigMap is a file in the directory mounted into the sidecar, read-only
    Deployment d = AppDeployment.desired(app, plan);
    var volume = d.getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getConfigMap() != null && Names.sidecarConfigMap(app).equals(v.getConfigMap().getName()))
        .findFirst().orElseThrow();
    assertThat(volume.getConfigMap().getItems()).as("no items: all keys are mounted").isNullOrEmpty();
    Container sidecar = d.getSpec().getTemplate().getSpec().getContainers().get(1);
    assertThat(sidecar.getVolumeMounts()).anySatisfy(m -> {
      assertThat(m.getName()).isEqualTo(volume.getName());
      assertThat(m.getMountPath() + "/" + SidecarConfig.OIDC_CA_FILE).isEqualTo(CA_PATH);
      assertThat(m.getReadOnly()).isTrue();
    });
    // and only the sidecar sees it: the app container has no business with the provider
    assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getVolumeMounts())
        .noneMatch(m -> m.getName().equals(volume.getName()));
  }

  @Test
  void podsRollWhenTheBundleChangesAndOnlyThen() throws Exception {
    String none = configHash(AppDeployment.desired(app, AppPlan.resolve(app, policy(null))));
    String first = configHash(AppDeployment.desired(app, AppPlan.resolve(app, policy(fixture("acme-test-root-ca")))));
    String again = configHash(AppDeployment.desired(app, AppPlan.resolve(app, policy(fixture("acme-test-root-ca")))));
    String second = configHash(AppDeployment.desired(app,
        AppPlan.resolve(app, policy(fixture("acme-test-root-ca") + fixture("acme-second-root-ca")))));
    assertThat(List.of(none, first, second)).doesNotHaveDuplicates();
    assertThat(again).isEqualTo(first);
  }

  @Test
  void anAppThatSignsInNowhereGetsNoBundle() throws Exception {
    // a public app, no issuer of its own and none by default: its sidecar never calls a provider
    app.getSpec().setVisibility(Visibility.PUBLIC);
    DefaultOverride o = new DefaultOverride();
    o.setSetting(Setting.VISIBILITY);
    o.setJustification("public landing page, no personal data");
    app.getSpec().setOverrides(List.of(o));
    app.getSpec().getAuth().setIssuer(null);
    OperatorConfig noIssuer = OperatorConfig.builder().clusterIssuer("le").oidcCaBundle(fixture("acme-test-root-ca")).build();
    AppPlan plan = AppPlan.resolve(app, noIssuer);
    assertThat(plan.issuer()).isNull();
    assertThat(SidecarConfig.desired(app, plan).getData()).containsOnlyKeys(SidecarConfig.FILE);
  }

  @Test
  void aConfigMapStillWithoutTheBundleIsNotReportedAsApplied() throws Exception {
    AppPlan plan = AppPlan.resolve(app, policy(fixture("acme-test-root-ca")));
    Deployment d = AppDeployment.desired(app, plan);
    d.setStatus(new DeploymentStatusBuilder().withAvailableReplicas(1).build());
    ConfigMap stale = SidecarConfig.desired(app, plan);
    Map<String, String> data = new HashMap<>(stale.getData());
    data.remove(SidecarConfig.OIDC_CA_FILE);
    stale.setData(data);
    Observed o = new Observed(AppServiceAccount.desired(app), stale, d, AppService.desired(app),
        IngressTlsDefault.desired(app, plan), AppNetworkPolicy.desired(app, plan), null, PurgeJob.cronJob(app, plan),
        null, List.of(), ImageScan.of(ImageScan.State.NOT_REQUIRED, null));
    List<CheckResult> checks = Checklist.checks(plan, SidecarConfig.json(plan), o,
        new Unsealer.Unsealed(Map.of(), null, List.of(), List.of()));
    assertThat(checks).filteredOn(c -> c.item() == CheckResult.Item.SIGN_IN_REQUIRED).singleElement()
        .satisfies(c -> assertThat(c.reason()).isEqualTo("SidecarConfigPending"));

    Observed applied = new Observed(o.serviceAccount(), SidecarConfig.desired(app, plan), d, o.service(), o.ingress(),
        o.networkPolicy(), null, o.purgeCronJob(), null, List.of(), o.imageScan());
    assertThat(Checklist.checks(plan, SidecarConfig.json(plan), applied, new Unsealer.Unsealed(Map.of(), null, List.of(), List.of())))
        .filteredOn(c -> c.item() == CheckResult.Item.SIGN_IN_REQUIRED).singleElement()
        .satisfies(c -> assertThat(c.reason()).isEqualTo("SignInRequired"));
  }
}
