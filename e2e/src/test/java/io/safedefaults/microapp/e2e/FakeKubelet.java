package io.safedefaults.microapp.e2e;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stands in for the kubelet, which the local control plane does not run: pods stay Pending
 * until something reports them running. This marks the pods of a Deployment Running and Ready
 * through the {@code pods/status} subresource, so the ReplicaSet and Deployment controllers
 * count them available.
 *
 * <p>Verified on the e2e control plane (kube-controller-manager 1.34, no scheduler, no kubelet):
 * a merge patch of {@code status.phase=Running}, the conditions PodScheduled, Initialized,
 * ContainersReady and Ready all True, and a ready, running {@code containerStatuses} entry per
 * container is enough for {@code Deployment.status.availableReplicas} to reach the replica count
 * within a second or two. Neither {@code spec.nodeName} nor a Node object is needed: the
 * ReplicaSet controller only reads the pod's Ready condition (and its lastTransitionTime for
 * minReadySeconds); nothing on this control plane checks the node.
 */
public final class FakeKubelet {

  private final KubernetesClient client;

  public FakeKubelet(KubernetesClient client) {
    this.client = client;
  }

  /**
   * Marks every live pod of the Deployment's selector Ready (pods already marked are left alone,
   * so calling this in a poll loop writes only for new pods). Returns how many pods it patched.
   */
  public int markDeploymentPodsReady(String namespace, String deploymentName) {
    Deployment d = client.apps().deployments().inNamespace(namespace).withName(deploymentName).get();
    if (d == null || d.getSpec() == null || d.getSpec().getSelector() == null) {
      return 0;
    }
    List<Pod> pods = client.pods().inNamespace(namespace).withLabelSelector(d.getSpec().getSelector()).list().getItems();
    int patched = 0;
    for (Pod pod : pods) {
      if (pod.getMetadata().getDeletionTimestamp() == null && !isReady(pod)) {
        markReady(pod);
        patched++;
      }
    }
    return patched;
  }

  /** Pods matching the Deployment's selector (to assert that the ReplicaSet controller could create them). */
  public List<Pod> podsOf(String namespace, String deploymentName) {
    Deployment d = client.apps().deployments().inNamespace(namespace).withName(deploymentName).get();
    if (d == null || d.getSpec() == null || d.getSpec().getSelector() == null) {
      return List.of();
    }
    return client.pods().inNamespace(namespace).withLabelSelector(d.getSpec().getSelector()).list().getItems();
  }

  static boolean isReady(Pod pod) {
    if (pod.getStatus() == null || !"Running".equals(pod.getStatus().getPhase())) {
      return false;
    }
    for (PodCondition c : pod.getStatus().getConditions()) {
      if ("Ready".equals(c.getType())) {
        return "True".equals(c.getStatus());
      }
    }
    return false;
  }

  /** Reports the pod Running with every container started and ready. */
  public void markReady(Pod pod) {
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    List<Map<String, Object>> conditions = new ArrayList<>();
    for (String type : List.of("PodScheduled", "Initialized", "ContainersReady", "Ready")) {
      conditions.add(Map.of("type", type, "status", "True", "lastTransitionTime", now));
    }
    List<Map<String, Object>> containerStatuses = new ArrayList<>();
    for (Container c : pod.getSpec().getContainers()) {
      containerStatuses.add(running(c, now));
    }
    // Init containers: a native sidecar (restartPolicy Always) keeps running; a plain one has finished.
    List<Map<String, Object>> initStatuses = new ArrayList<>();
    for (Container c : pod.getSpec().getInitContainers()) {
      if ("Always".equals(c.getRestartPolicy())) {
        initStatuses.add(running(c, now));
      } else {
        Map<String, Object> s = base(c);
        s.put("ready", true);
        s.put("started", false);
        s.put("state", Map.of("terminated", Map.of("exitCode", 0, "reason", "Completed", "startedAt", now, "finishedAt", now)));
        initStatuses.add(s);
      }
    }
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("phase", "Running");
    status.put("conditions", conditions);
    status.put("containerStatuses", containerStatuses);
    if (!initStatuses.isEmpty()) {
      status.put("initContainerStatuses", initStatuses);
    }
    status.put("startTime", now);
    status.put("podIP", "10.244.0.10");
    status.put("podIPs", List.of(Map.of("ip", "10.244.0.10")));
    status.put("hostIP", "127.0.0.1");
    String patch = Serialization.asJson(Map.of("status", status));
    client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
        .subresource("status")
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
  }

  private static Map<String, Object> running(Container c, String now) {
    Map<String, Object> s = base(c);
    s.put("ready", true);
    s.put("started", true);
    s.put("state", Map.of("running", Map.of("startedAt", now)));
    return s;
  }

  private static Map<String, Object> base(Container c) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("name", c.getName());
    s.put("image", c.getImage());
    s.put("imageID", "");
    s.put("restartCount", 0);
    return s;
  }

  /**
   * Ends a Job's pending pods the way a kubelet would report a finished container: phase
   * Succeeded or Failed with a terminated container status. The Job controller then counts them
   * (and, for failures, retries up to backoffLimit) and sets the Job's Complete or Failed condition.
   */
  public int finishJobPods(String namespace, String jobName, boolean succeeded) {
    return finishJobPods(namespace, jobName, succeeded, null);
  }

  /** As above, with the container's termination message (what the purge runner writes there). */
  public int finishJobPods(String namespace, String jobName, boolean succeeded, String terminationMessage) {
    int n = 0;
    for (Pod pod : client.pods().inNamespace(namespace).withLabel("job-name", jobName).list().getItems()) {
      if (pod.getStatus() == null || !"Pending".equals(pod.getStatus().getPhase())) {
        continue;
      }
      String now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
      var statuses = pod.getSpec().getContainers().stream().map(c -> new io.fabric8.kubernetes.api.model.ContainerStatusBuilder()
          .withName(c.getName()).withImage(c.getImage()).withImageID("").withReady(false).withRestartCount(0)
          .withNewState().withNewTerminated().withExitCode(succeeded ? 0 : 1)
          .withReason(succeeded ? "Completed" : "Error").withStartedAt(now).withFinishedAt(now)
          .withMessage(terminationMessage)
          .endTerminated().endState().build()).toList();
      pod.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder()
          .withPhase(succeeded ? "Succeeded" : "Failed").withContainerStatuses(statuses).build());
      client.pods().inNamespace(namespace).resource(pod).updateStatus();
      n++;
    }
    return n;
  }
}
