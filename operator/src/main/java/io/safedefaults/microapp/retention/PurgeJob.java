package io.safedefaults.microapp.retention;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.CronJobBuilder;
import io.safedefaults.microapp.access.RestrictedPodSecurity;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.PurgeSpec;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.kube.SidecarRuntime;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.secrets.UnsealedSecret;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The daily purge (checklist 8): a CronJob running the sidecar image's {@code purge} subcommand
 * against one target. It runs as its own ServiceAccount without a token, under Pod Security
 * restricted, never twice at once, and gives up instead of piling up runs.
 */
public final class PurgeJob {
  public static final String CONFIG_DIR = "/etc/microapp-purge";
  public static final String CONFIG_FILE = "purge.json";
  public static final String DB_DIR = "/etc/microapp-purge/db";
  public static final String DATA_DIR = "/data";
  public static final int DEFAULT_BATCH = 1000;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private PurgeJob() {}

  /** What the runner reads: target, TTL and where its credentials are mounted; never a secret value. */
  public static String configJson(MicroApp app, AppPlan plan) {
    PurgeSpec p = plan.retention().purge();
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("version", 1);
    c.put("namespace", app.getMetadata().getNamespace());
    c.put("app", app.getMetadata().getName());
    c.put("ttlDays", plan.retention().ttlDays());
    if (p.getHttp() != null) {
      c.put("target", "http");
      c.put("http", Map.of(
          "url", "http://" + app.getMetadata().getName() + "." + app.getMetadata().getNamespace() + ".svc:"
              + Names.SERVICE_PORT + p.getHttp().getPath(),
          "tokenFile", SidecarRuntime.JOB_PURGE_TOKEN_DIR + "/" + SidecarRuntime.PURGE_TOKEN_KEY));
    } else if (p.getPostgres() != null) {
      c.put("target", "postgres");
      Map<String, Object> pg = new LinkedHashMap<>();
      pg.put("connectionFile", DB_DIR + "/" + p.getPostgres().getConnection());
      pg.put("table", p.getPostgres().getTable());
      pg.put("column", p.getPostgres().getColumn());
      pg.put("batchSize", p.getPostgres().getBatchSize() == null ? DEFAULT_BATCH : p.getPostgres().getBatchSize());
      c.put("postgres", pg);
    } else {
      c.put("target", "volume");
      c.put("volume", Map.of("root", DATA_DIR,
          "path", p.getVolume().getPath() == null ? "/" : p.getVolume().getPath()));
    }
    try {
      return JSON.writeValueAsString(c) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static ConfigMap config(MicroApp app, AppPlan plan) {
    return new ConfigMapBuilder()
        .withMetadata(Names.metadata(app, Names.purge(app)))
        .addToData(CONFIG_FILE, configJson(app, plan))
        .build();
  }

  /** A random token only the purge job and the sidecar hold; the sidecar accepts purge calls with it. */
  public static Secret token(MicroApp app) {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    return new SecretBuilder()
        .withMetadata(Names.metadata(app, Names.purgeToken(app)))
        .withType("Opaque")
        .addToData(SidecarRuntime.PURGE_TOKEN_KEY, Base64.getEncoder().encodeToString(
            Base64.getUrlEncoder().withoutPadding().encodeToString(raw).getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
        .build();
  }

  public static CronJob cronJob(MicroApp app, AppPlan plan) {
    PurgeSpec p = plan.retention().purge();
    Map<String, String> podLabels = new LinkedHashMap<>(Names.labels(app));
    podLabels.remove(Names.APP_LABEL); // not selected by the app's Deployment or Service
    podLabels.put(Names.PURGE_LABEL, app.getMetadata().getName());
    List<Volume> volumes = new ArrayList<>();
    List<VolumeMount> mounts = new ArrayList<>();
    volumes.add(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build());
    mounts.add(new VolumeMountBuilder().withName("tmp").withMountPath("/tmp").build());
    volumes.add(new VolumeBuilder().withName("config")
        .withNewConfigMap().withName(Names.purge(app)).withDefaultMode(0444).endConfigMap().build());
    mounts.add(new VolumeMountBuilder().withName("config").withMountPath(CONFIG_DIR).withReadOnly(true).build());
    if (p.getHttp() != null) {
      volumes.add(new VolumeBuilder().withName("token")
          .withNewSecret().withSecretName(Names.purgeToken(app)).withDefaultMode(0440).endSecret().build());
      mounts.add(new VolumeMountBuilder().withName("token").withMountPath(SidecarRuntime.JOB_PURGE_TOKEN_DIR).withReadOnly(true).build());
    } else if (p.getPostgres() != null) {
      // Only the connection value, not the app's other sealed values.
      volumes.add(new VolumeBuilder().withName("db")
          .withNewSecret().withSecretName(Names.sealedValuesSecret(app)).withDefaultMode(0440)
          .addNewItem().withKey(p.getPostgres().getConnection()).withPath(p.getPostgres().getConnection()).endItem()
          .endSecret().build());
      mounts.add(new VolumeMountBuilder().withName("db").withMountPath(DB_DIR).withReadOnly(true).build());
    } else {
      volumes.add(new VolumeBuilder().withName("data")
          .withNewPersistentVolumeClaim().withClaimName(p.getVolume().getClaimName()).endPersistentVolumeClaim().build());
      mounts.add(new VolumeMountBuilder().withName("data").withMountPath(DATA_DIR).build());
    }
    return new CronJobBuilder()
        .withMetadata(Names.metadata(app, Names.purge(app)))
        .withNewSpec()
        .withSchedule(plan.retention().schedule())
        .withTimeZone("Etc/UTC")
        .withConcurrencyPolicy("Forbid")
        .withStartingDeadlineSeconds(3600L)
        .withSuccessfulJobsHistoryLimit(3)
        .withFailedJobsHistoryLimit(3)
        .withNewJobTemplate()
        .withNewMetadata().withLabels(podLabels).endMetadata()
        .withNewSpec()
        .withBackoffLimit(2)
        .withActiveDeadlineSeconds(1800L)
        .withNewTemplate()
        .withNewMetadata().withLabels(podLabels).endMetadata()
        .withNewSpec()
        .withServiceAccountName(app.getMetadata().getName()) // the app's own: no token, no bindings
        .withAutomountServiceAccountToken(false)
        .withEnableServiceLinks(false)
        .withRestartPolicy("Never")
        .withSecurityContext(RestrictedPodSecurity.pod(plan.config().runAsUser()))
        .withContainers(new ContainerBuilder()
            .withName(Names.PURGE_CONTAINER)
            .withImage(plan.config().sidecarImage())
            .withArgs("purge", "--config", CONFIG_DIR + "/" + CONFIG_FILE)
            // The sidecar image's JVM, with the sidecar's flags and memory.
            .withEnv(SidecarRuntime.env())
            .withSecurityContext(RestrictedPodSecurity.container())
            .withNewResources()
            .addToRequests("cpu", new Quantity("50m")).addToRequests("memory", new Quantity("160Mi"))
            .addToLimits("cpu", new Quantity("500m")).addToLimits("memory", new Quantity("160Mi"))
            .endResources()
            .withTerminationMessagePolicy("File")
            .withVolumeMounts(mounts)
            .build())
        .withVolumes(volumes)
        .endSpec()
        .endTemplate()
        .endSpec()
        .endJobTemplate()
        .endSpec()
        .build();
  }

}
