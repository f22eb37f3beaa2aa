package io.safedefaults.microapp.workload;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.KeyToPathBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.safedefaults.microapp.access.RestrictedPodSecurity;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.kube.SidecarRuntime;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.secrets.UnsealedSecret;
import java.util.ArrayList;
import java.util.List;

/**
 * The app's pod: the app container and, in front of it, the auth sidecar (checklist 1). Both run
 * as non-root with a read-only root filesystem and no capabilities; writable space is an emptyDir
 * at /tmp. No service-account token is mounted (checklist 7).
 */
public final class AppDeployment {
  private AppDeployment() {}

  public static Deployment desired(MicroApp app, AppPlan plan) {
    return desired(app, plan, SidecarConfig.contentHash(plan));
  }

  /** @param configHash the sidecar configuration's {@link SidecarConfig#contentHash}: the pods roll when it changes */
  public static Deployment desired(MicroApp app, AppPlan plan, String configHash) {
    OperatorConfig config = plan.config();
    return new DeploymentBuilder()
        .withMetadata(Names.metadata(app, app.getMetadata().getName()))
        .withNewSpec()
        .withReplicas(1)
        .withRevisionHistoryLimit(3)
        .withNewSelector().withMatchLabels(Names.selector(app)).endSelector()
        .withNewTemplate()
        .withNewMetadata()
        .withLabels(Names.labels(app))
        .addToAnnotations(Names.CONFIG_HASH_ANNOTATION, configHash)
        .addToAnnotations(Names.SECRETS_HASH_ANNOTATION, plan.sealed().hash())
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName(app.getMetadata().getName())
        .withAutomountServiceAccountToken(false)
        .withEnableServiceLinks(false)
        .withSecurityContext(RestrictedPodSecurity.pod(config.runAsUser()))
        .withContainers(appContainer(app, plan), sidecarContainer(plan))
        .withVolumes(volumes(app, plan))
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  private static List<Volume> volumes(MicroApp app, AppPlan plan) {
    List<Volume> volumes = new ArrayList<>(List.of(
            new VolumeBuilder().withName("app-tmp").withNewEmptyDir().endEmptyDir().build(),
            new VolumeBuilder().withName("auth-proxy-tmp").withNewEmptyDir().endEmptyDir().build(),
            new VolumeBuilder().withName("auth-proxy-config")
                .withNewConfigMap().withName(Names.sidecarConfigMap(app)).withDefaultMode(0444).endConfigMap()
                .build(),
            new VolumeBuilder().withName("auth-proxy-keys")
                .withNewSecret().withSecretName(Names.sessionKeysSecret(app)).withDefaultMode(0440).endSecret()
                .build()));
    // Opened values: the app sees only its own items, the sidecar only the client secret.
    if (plan.sealed().mountPath() != null && !plan.sealed().appValues().isEmpty()) {
      volumes.add(new VolumeBuilder().withName("app-secrets")
          .withNewSecret().withSecretName(Names.sealedValuesSecret(app)).withDefaultMode(0440)
          .withItems(plan.sealed().appValues().stream()
              .map(k -> new KeyToPathBuilder().withKey(k).withPath(k).build()).toList())
          .endSecret().build());
    }
    if (plan.retention().usesToken()) {
      volumes.add(new VolumeBuilder().withName("auth-proxy-purge-token")
          .withNewSecret().withSecretName(Names.purgeToken(app)).withDefaultMode(0440).endSecret().build());
    }
    if (plan.config().sessionKeyKms() != null) {
      // the sidecar's identity for the Vault login: short-lived, for the Vault role's audience only
      volumes.add(new VolumeBuilder().withName(Names.KMS_TOKEN_VOLUME).withNewProjected().withDefaultMode(0440)
          .addNewSource().withNewServiceAccountToken().withAudience(plan.config().sessionKeyKms().tokenAudience())
          .withExpirationSeconds(600L).withPath(SidecarConfig.KMS_TOKEN_FILE).endServiceAccountToken().endSource()
          .endProjected().build());
    }
    if (plan.sealed().clientSecret()) {
      volumes.add(new VolumeBuilder().withName("auth-proxy-client-secret")
          .withNewSecret().withSecretName(Names.sealedValuesSecret(app)).withDefaultMode(0440)
          .addNewItem().withKey(UnsealedSecret.CLIENT_SECRET_KEY).withPath(SidecarConfig.CLIENT_SECRET_FILE).endItem()
          .endSecret().build());
    }
    return volumes;
  }

  private static Container appContainer(MicroApp app, AppPlan plan) {
    OperatorConfig.Resources r = plan.appResources(); // asked or default, within the policy's maximum
    ResourceRequirements resources = resources(r.cpuRequest(), r.cpuLimit(), r.memory());
    ContainerBuilder c = new ContainerBuilder()
        .withName(Names.APP_CONTAINER)
        .withImage(plan.image())
        .addNewPort().withName("app").withContainerPort(plan.port()).withProtocol("TCP").endPort()
        .withResources(resources)
        .withSecurityContext(RestrictedPodSecurity.container())
        .addNewVolumeMount().withName("app-tmp").withMountPath("/tmp").endVolumeMount();
    if (plan.retention().usesToken()) {
      // the app checks each purge call's signature with it (README, "Purge calls")
      c.addNewVolumeMount().withName("auth-proxy-purge-token").withMountPath(SidecarRuntime.APP_PURGE_TOKEN_DIR).withReadOnly(true)
          .endVolumeMount();
    }
    if (plan.sealed().mountPath() != null && !plan.sealed().appValues().isEmpty()) {
      c.addNewVolumeMount().withName("app-secrets").withMountPath(plan.sealed().mountPath()).withReadOnly(true)
          .endVolumeMount();
    } else {
      // Each value by name: envFrom would also hand the app the sidecar's client secret.
      for (String key : plan.sealed().appValues()) {
        c.addNewEnv().withName(key).withNewValueFrom().withNewSecretKeyRef()
            .withName(Names.sealedValuesSecret(app)).withKey(key).endSecretKeyRef().endValueFrom().endEnv();
      }
    }
    return c.build();
  }

  private static Container sidecarContainer(AppPlan plan) {
    OperatorConfig.Resources r = plan.config().sidecarResources();
    ContainerBuilder c = new ContainerBuilder()
        .withName(Names.SIDECAR_CONTAINER)
        .withImage(plan.config().sidecarImage())
        .withArgs("proxy", "--config", SidecarConfig.DIR + "/" + SidecarConfig.FILE)
        // Keeps the sidecar's JVM inside its memory limit (measured in sidecar/README.md).
        .withEnv(SidecarRuntime.env())
        .addNewPort().withName(Names.SIDECAR_PORT_NAME).withContainerPort(Names.SIDECAR_PORT).withProtocol("TCP").endPort()
        .addNewPort().withName(Names.SIDECAR_ADMIN_PORT_NAME).withContainerPort(Names.SIDECAR_ADMIN_PORT).withProtocol("TCP").endPort()
        .withNewLivenessProbe()
        .withNewHttpGet().withPath("/healthz").withPort(new IntOrString(Names.SIDECAR_ADMIN_PORT_NAME)).endHttpGet()
        .withPeriodSeconds(10).withFailureThreshold(3)
        .endLivenessProbe()
        .withNewReadinessProbe()
        .withNewHttpGet().withPath("/readyz").withPort(new IntOrString(Names.SIDECAR_ADMIN_PORT_NAME)).endHttpGet()
        .withPeriodSeconds(5).withFailureThreshold(2)
        .endReadinessProbe()
        .withResources(resources(r.cpuRequest(), r.cpuLimit(), r.memory()))
        .withSecurityContext(RestrictedPodSecurity.container())
        .addNewVolumeMount().withName("auth-proxy-tmp").withMountPath("/tmp").endVolumeMount()
        .addNewVolumeMount().withName("auth-proxy-config").withMountPath(SidecarConfig.DIR).withReadOnly(true).endVolumeMount()
        .addNewVolumeMount().withName("auth-proxy-keys").withMountPath(SidecarConfig.KEYS_DIR).withReadOnly(true).endVolumeMount();
    if (plan.retention().usesToken()) {
      c.addNewVolumeMount().withName("auth-proxy-purge-token").withMountPath(SidecarRuntime.SIDECAR_PURGE_TOKEN_DIR)
          .withReadOnly(true).endVolumeMount();
    }
    if (plan.sealed().clientSecret()) {
      c.addNewVolumeMount().withName("auth-proxy-client-secret").withMountPath(SidecarConfig.CLIENT_SECRET_DIR)
          .withReadOnly(true).endVolumeMount();
    }
    if (plan.config().sessionKeyKms() != null) {
      c.addNewVolumeMount().withName(Names.KMS_TOKEN_VOLUME).withMountPath(SidecarConfig.KMS_TOKEN_DIR)
          .withReadOnly(true).endVolumeMount();
    }
    return c.build();
  }

  private static ResourceRequirements resources(String cpuRequest, String cpuLimit, String memory) {
    return new ResourceRequirementsBuilder()
        .addToRequests("cpu", new Quantity(cpuRequest))
        .addToRequests("memory", new Quantity(memory))
        .addToLimits("cpu", new Quantity(cpuLimit))
        .addToLimits("memory", new Quantity(memory))
        .build();
  }
}
