package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.safedefaults.microapp.access.AppNetworkPolicy;
import io.safedefaults.microapp.access.AppServiceAccount;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppStatus;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.retention.PurgeJob;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Conditions;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.Observed;
import io.safedefaults.microapp.tls.IngressTlsDefault;
import io.safedefaults.microapp.workload.AppDeployment;
import io.safedefaults.microapp.workload.AppService;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Status is computed from observed children; tampered children turn the right condition False. */
class StatusFromObservedTest {
  static final OperatorConfig POLICY = OperatorConfig.builder().clusterIssuer("le")
      .defaultIssuer("https://login.example.com").build();
  static final Instant T0 = Instant.parse("2026-11-29T10:00:00Z");

  static final Unsealer.Unsealed NO_SECRETS = new Unsealer.Unsealed(java.util.Map.of(), null, List.of(), List.of());

  MicroApp app = TestApps.where2eat("ns");

  AppPlan plan() {
    return AppPlan.resolve(app, POLICY);
  }

  /** What the operator would observe after applying the desired state, pod available. */
  Observed converged() {
    Deployment d = AppDeployment.desired(app, plan());
    d.setStatus(new DeploymentStatusBuilder().withAvailableReplicas(1).build());
    return new Observed(AppServiceAccount.desired(app), SidecarConfig.desired(app, plan()), d,
        AppService.desired(app), IngressTlsDefault.desired(app, plan()), AppNetworkPolicy.desired(app, plan()), null,
        PurgeJob.cronJob(app, plan()), null, List.of(), ImageScan.of(ImageScan.State.NOT_REQUIRED, null));
  }

  MicroAppStatus status(Observed o, Instant now) {
    return Conditions.status(app, plan(), o, checks(o), List.of(), Optional.empty(), now);
  }

  List<CheckResult> checks(Observed o) {
    return Checklist.checks(plan(), SidecarConfig.json(plan()), o, NO_SECRETS);
  }

  String condition(MicroAppStatus s, String type) {
    return Conditions.find(s, type).orElseThrow().getStatus();
  }

  @Test
  void convergedAppIsReadyWithEveryItemPassed() {
    MicroAppStatus s = status(converged(), T0);
    assertThat(s.getConditions()).extracting(c -> c.getType() + "=" + c.getStatus()).containsExactly(
        "Ready=True", "AuthEnforced=True", "TLSEnforced=True", "RateLimited=True", "SecretsSealed=True",
        "LeastPrivilege=True", "RetentionScheduled=True", "ImageScanned=True", "DefaultsRelaxed=False");
    // scans are not required by default: the item is relaxed by the platform, so 9 of 10 pass
    assertThat(s.getChecklist().getSummary()).isEqualTo("9/10");
    assertThat(s.getChecklist().getRelaxed()).containsExactly("imageScanned");
    assertThat(s.getUrl()).isEqualTo("https://where2eat.apps.example.com");
  }

  @Test
  void unchangedObservationsGiveAnEqualStatusSoNothingIsWritten() {
    MicroAppStatus first = status(converged(), T0);
    app.setStatus(first);
    MicroAppStatus later = status(converged(), T0.plusSeconds(3600));
    assertThat(later).isEqualTo(first);
  }

  @Test
  void lastTransitionTimeMovesOnlyForConditionsThatChanged() {
    app.setStatus(status(converged(), T0));
    Observed noPods = converged();
    noPods.deployment().setStatus(null);
    MicroAppStatus s = status(noPods, T0.plusSeconds(60));
    assertThat(Conditions.find(s, "Ready").orElseThrow().getLastTransitionTime()).isEqualTo("2026-11-29T10:01:00Z");
    assertThat(Conditions.find(s, "AuthEnforced").orElseThrow().getLastTransitionTime()).isEqualTo("2026-11-29T10:00:00Z");
    assertThat(Conditions.find(s, "Ready").orElseThrow().getReason()).isEqualTo("PodsNotReady");
  }

  @Test
  void serviceAimedAtTheAppPortFailsSignIn() {
    Observed o = converged();
    o.service().getSpec().getPorts().get(0).setTargetPort(new IntOrString(8080));
    MicroAppStatus s = status(o, T0);
    assertThat(condition(s, "AuthEnforced")).isEqualTo("False");
    assertThat(Conditions.find(s, "AuthEnforced").orElseThrow().getReason()).isEqualTo("ServiceBypassesSidecar");
    assertThat(condition(s, "Ready")).isEqualTo("False");
    assertThat(s.getChecklist().getFailing()).containsExactly("signInRequired");
  }

  @Test
  void privilegedContainerFailsLeastPrivilege() {
    Observed o = converged();
    o.deployment().getSpec().getTemplate().getSpec().getContainers().get(0).getSecurityContext()
        .setAllowPrivilegeEscalation(true);
    assertThat(Conditions.find(status(o, T0), "LeastPrivilege").orElseThrow().getReason()).isEqualTo("PodNotRestricted");
  }

  @Test
  void ingressWithoutRedirectFailsTls() {
    Observed o = converged();
    o.ingress().getMetadata().getAnnotations().remove("nginx.ingress.kubernetes.io/force-ssl-redirect");
    assertThat(condition(status(o, T0), "TLSEnforced")).isEqualTo("False");
  }

  @Test
  void networkPolicyOpenToTheAppPortFailsLeastPrivilege() {
    Observed o = converged();
    o.networkPolicy().getSpec().getIngress().get(0).getPorts().get(0).setPort(new IntOrString(8080));
    assertThat(Conditions.find(status(o, T0), "LeastPrivilege").orElseThrow().getReason())
        .isEqualTo("NetworkPolicyPending");
  }

  @Test
  void purgeCountsComeFromTheRunnersTerminationMessage() {
    Observed o = converged();
    var job = new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder()
        .withNewMetadata().withName("where2eat-purge-29400000").withCreationTimestamp("2026-11-29T10:00:00Z").endMetadata()
        .withNewStatus().addNewCondition().withType("Complete").withStatus("True").endCondition().endStatus().build();
    var pod = new io.fabric8.kubernetes.api.model.PodBuilder()
        .withNewMetadata().withName("p").addToLabels("job-name", "where2eat-purge-29400000").endMetadata()
        .withNewStatus().addNewContainerStatus().withName("purge").withNewState().withNewTerminated()
        .withExitCode(0).withFinishedAt("2026-11-29T10:00:05Z")
        .withMessage("{\"event\":\"purge.completed\",\"cutoff\":\"2026-10-30T10:00:00Z\",\"deleted\":2345}")
        .endTerminated().endState().endContainerStatus().endStatus().build();
    Observed withRun = new Observed(o.serviceAccount(), o.sidecarConfig(), o.deployment(), o.service(), o.ingress(),
        o.networkPolicy(), null, o.purgeCronJob(), job, List.of(pod), o.imageScan());
    var retention = status(withRun, T0).getRetention();
    assertThat(retention.lastJobOutcome()).isEqualTo("Succeeded");
    assertThat(retention.lastDeleted()).isEqualTo(2345L);
    assertThat(retention.lastCutoff()).isEqualTo("2026-10-30T10:00:00Z");

    pod.getStatus().getContainerStatuses().get(0).getState().getTerminated().setMessage("not json at all");
    assertThat(status(withRun, T0).getRetention().lastDeleted()).as("a garbled message is ignored").isNull();
  }

  @Test
  void renderedManifestsAreTheObjectsTheChecksAccept() {
    // The offline render and the reconciler share builders: whatever render prints passes the checks.
    var rendered = ManifestRenderer.render(app, POLICY);
    assertThat(rendered).extracting(m -> m.getKind()).containsExactly(
        "ServiceAccount", "ConfigMap", "Secret", "NetworkPolicy", "Deployment", "Service",
        "ConfigMap", "Secret", "CronJob", "Ingress");
  }
}
