package io.safedefaults.microapp.status;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.List;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;

/** The children as the operator last saw them in its caches (null where absent). */
public record Observed(
    ServiceAccount serviceAccount,
    ConfigMap sidecarConfig,
    Deployment deployment,
    Service service,
    Ingress ingress,
    NetworkPolicy networkPolicy,
    Secret sealedSecret,
    CronJob purgeCronJob,
    Job lastPurgeJob,
    List<Pod> purgePods,
    /** The scanner's verdict on the app's image (ImageScanGate#judge). */
    ImageScan imageScan) {

  public int availableReplicas() {
    return deployment == null || deployment.getStatus() == null
        || deployment.getStatus().getAvailableReplicas() == null
        ? 0 : deployment.getStatus().getAvailableReplicas();
  }
}
