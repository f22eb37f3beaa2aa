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
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;

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
    ImageScan imageScan,
    /** Gateway mode: the route on the HTTPS listener, the redirect route, and the platform's Gateway. */
    HTTPRoute httpsRoute,
    HTTPRoute redirectRoute,
    Gateway gateway,
    /** Gateway mode with --gateway-edge-limits envoy-gateway: the app's BackendTrafficPolicy (null: none). */
    io.fabric8.kubernetes.api.model.GenericKubernetesResource edgePolicy,
    /** Whether the cluster served that policy's CRD when the operator started. */
    boolean edgePolicyApi) {

  /** Children of ingress mode only (no routes, no Gateway observed). */
  public Observed(ServiceAccount serviceAccount, ConfigMap sidecarConfig, Deployment deployment, Service service,
      Ingress ingress, NetworkPolicy networkPolicy, Secret sealedSecret, CronJob purgeCronJob, Job lastPurgeJob,
      List<Pod> purgePods, ImageScan imageScan) {
    this(serviceAccount, sidecarConfig, deployment, service, ingress, networkPolicy, sealedSecret, purgeCronJob,
        lastPurgeJob, purgePods, imageScan, null, null, null, null, false);
  }

  /** These children with the routes and the Gateway of gateway mode. */
  public Observed withGateway(HTTPRoute https, HTTPRoute redirect, Gateway gw) {
    return new Observed(serviceAccount, sidecarConfig, deployment, service, ingress, networkPolicy, sealedSecret,
        purgeCronJob, lastPurgeJob, purgePods, imageScan, https, redirect, gw, edgePolicy, edgePolicyApi);
  }

  /** These children with the edge rate limit policy, and whether its API was served at start. */
  public Observed withEdgePolicy(io.fabric8.kubernetes.api.model.GenericKubernetesResource policy, boolean served) {
    return new Observed(serviceAccount, sidecarConfig, deployment, service, ingress, networkPolicy, sealedSecret,
        purgeCronJob, lastPurgeJob, purgePods, imageScan, httpsRoute, redirectRoute, gateway, policy, served);
  }

  public int availableReplicas() {
    return deployment == null || deployment.getStatus() == null
        || deployment.getStatus().getAvailableReplicas() == null
        ? 0 : deployment.getStatus().getAvailableReplicas();
  }
}
