package io.safedefaults.microapp.access;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.workload.AppDeployment;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Checklist 7 and service-account tokens: the pod the operator renders carries exactly one, the
 * sidecar's, for the session KMS; every hand edit that would give the app (or anyone) a token, or
 * the sidecar one for another audience, fails the item with the volume named.
 */
class TokenProjectionTest {
  static final MicroApp APP = TestApps.where2eat("team-a");
  static final OperatorConfig.SessionKeyKms VAULT = OperatorConfig.SessionKeyKms.vault(
      "vault-transit://vault.example.com/transit/keys/s", null, null, "kubernetes", "microapp-sidecar", "vault");
  static final OperatorConfig.SessionKeyKms AWS = OperatorConfig.SessionKeyKms.aws(
      "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/k", null, null, "arn:aws:iam::111122223333:role/r", null,
      "sts.amazonaws.com");

  static AppPlan plan(OperatorConfig.SessionKeyKms kms) {
    return AppPlan.resolve(APP, OperatorConfig.builder().clusterIssuer("letsencrypt").sessionKeyKms(kms).build(),
        Instant.parse("2026-12-01T10:00:00Z"));
  }

  static PodSpec pod(AppPlan plan) {
    return AppDeployment.desired(APP, plan).getSpec().getTemplate().getSpec();
  }

  @Test
  void theRenderedPodPassesWithAndWithoutASessionKms() {
    for (OperatorConfig.SessionKeyKms kms : new OperatorConfig.SessionKeyKms[] {null, VAULT, AWS}) {
      AppPlan plan = plan(kms);
      assertThat(LeastPrivilegeCheck.projectedToken(pod(plan), plan)).as("%s", kms).isNull();
      long tokens = pod(plan).getVolumes().stream().filter(v -> v.getProjected() != null).count();
      assertThat(tokens).isEqualTo(kms == null ? 0 : 1);
    }
  }

  @Test
  void everyOtherProjectedTokenFailsTheItemNamingTheVolume() {
    AppPlan withKms = plan(VAULT);
    AppPlan withoutKms = plan(null);
    Map<String, UnaryOperator<PodSpec>> edits = new java.util.LinkedHashMap<>();
    edits.put("the app container mounts the KMS token too", p -> mount(p, Names.APP_CONTAINER, Names.KMS_TOKEN_VOLUME));
    edits.put("an API-server token for the app", p -> mount(addToken(p, "kube-api", null), Names.APP_CONTAINER, "kube-api"));
    edits.put("an API-server token for the sidecar", p -> mount(addToken(p, "kube-api", null), Names.SIDECAR_CONTAINER, "kube-api"));
    edits.put("a token mounted by no container", p -> addToken(p, "spare", "vault"));
    edits.put("the KMS token for another audience", p -> {
      p.getVolumes().stream().filter(v -> v.getName().equals(Names.KMS_TOKEN_VOLUME)).forEach(v ->
          v.getProjected().getSources().get(0).getServiceAccountToken().setAudience("https://kubernetes.default.svc"));
      return p;
    });
    edits.put("an init container mounts the KMS token", p -> {
      p.setInitContainers(List.of(new io.fabric8.kubernetes.api.model.ContainerBuilder().withName("init")
          .withVolumeMounts(new VolumeMountBuilder().withName(Names.KMS_TOKEN_VOLUME).withMountPath("/t").build()).build()));
      return p;
    });
    edits.put("the sidecar's token under another volume name", p -> {
      p.getVolumes().stream().filter(v -> v.getName().equals(Names.KMS_TOKEN_VOLUME)).forEach(v -> v.setName("token"));
      p.getContainers().forEach(c -> c.getVolumeMounts().stream().filter(m -> m.getName().equals(Names.KMS_TOKEN_VOLUME))
          .forEach(m -> m.setName("token")));
      return p;
    });
    edits.forEach((what, edit) -> assertThat(LeastPrivilegeCheck.projectedToken(edit.apply(pod(withKms)), withKms))
        .as(what).isNotNull().contains("a service-account token is projected into the pod (volume "));
    assertThat(LeastPrivilegeCheck.projectedToken(pod(withKms), withoutKms))
        .as("the KMS token once the session KMS is switched off").contains("volume " + Names.KMS_TOKEN_VOLUME)
        .contains("audience vault").contains("mounted by " + Names.SIDECAR_CONTAINER);
    assertThat(LeastPrivilegeCheck.projectedToken(mount(addToken(pod(withoutKms), "kube-api", null), Names.APP_CONTAINER,
        "kube-api"), withoutKms)).contains("audience the API server's").contains("mounted by " + Names.APP_CONTAINER);
  }

  static PodSpec addToken(PodSpec p, String name, String audience) {
    return new PodSpecBuilder(p).addNewVolume().withName(name).withNewProjected().addNewSource().withNewServiceAccountToken()
        .withAudience(audience).withPath("token").endServiceAccountToken().endSource().endProjected().endVolume().build();
  }

  static PodSpec mount(PodSpec p, String container, String volume) {
    p.getContainers().stream().filter(c -> c.getName().equals(container)).forEach(c ->
        c.getVolumeMounts().add(new VolumeMountBuilder().withName(volume).withMountPath("/var/run/" + volume).build()));
    return p;
  }
}
