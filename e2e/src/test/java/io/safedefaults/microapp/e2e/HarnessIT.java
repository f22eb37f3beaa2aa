package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Checks the platform itself, without the operator's apps, so an operator failure is never mistaken
 * for a platform one: the node runs a restricted pod until its Deployment is available, Pod Security
 * admission is on, and the write counter sees writes (server-side apply counted as APPLY).
 */
@Order(0)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HarnessIT {

  static ControlPlane cp;
  static String ns;

  @BeforeAll
  static void cluster() {
    cp = E2E.cluster();
    ns = "e2e-harness-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
    cp.kubectl().runWithInput("""
        apiVersion: v1
        kind: Namespace
        metadata:
          name: %s
          labels:
            pod-security.kubernetes.io/enforce: restricted
            app.kubernetes.io/part-of: microapp-e2e
        """.formatted(ns), "apply", "-f", "-").orFail();
  }

  @AfterAll
  static void cleanUp() {
    if (ns != null) {
      cp.kubectl().run("delete", "namespace", ns, "--ignore-not-found", "--wait=false");
    }
  }

  static String deployment(String name, String podSecurityContext) {
    return """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: %1$s
        spec:
          replicas: 1
          selector: {matchLabels: {app: %1$s}}
          template:
            metadata: {labels: {app: %1$s}}
            spec:
              %2$s
              automountServiceAccountToken: false
              containers:
              - name: web
                # the example landing page: imported into the node's containerd, never pulled
                image: ghcr.io/acme/landing:2.0.0
                imagePullPolicy: IfNotPresent
                readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
                securityContext: {runAsNonRoot: true, runAsUser: 10001, allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        """.formatted(name, podSecurityContext);
  }

  @Test
  @Order(1) // before the lax Deployment exists: its failing ReplicaSet would update Deployment status
  void theNodeRunsARestrictedDeploymentUntilItIsAvailable() {
    KubernetesClient client = cp.client();
    ApiWriteCounter counter = new ApiWriteCounter(client);
    ApiWriteCounter.Snapshot before = counter.snapshot();
    cp.kubectl().runWithInput(deployment("web", "securityContext: {seccompProfile: {type: RuntimeDefault}}"),
        "apply", "--server-side", "-n", ns, "-f", "-").orFail();
    Map<String, Long> writes = counter.snapshot().since(before, Set.of("deployments"));
    assertThat(writes).as("server-side apply is counted as verb APPLY").containsKey("APPLY deployments");

    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      Deployment d = client.apps().deployments().inNamespace(ns).withName("web").get();
      assertThat(d.getStatus().getAvailableReplicas()).as("available replicas (the kubelet ran the pod and its probe passed)")
          .isEqualTo(1);
    });
    var pod = client.pods().inNamespace(ns).withLabel("app", "web").list().getItems().get(0);
    assertThat(pod.getSpec().getNodeName()).as("scheduled onto the node").isNotBlank();
    assertThat(pod.getStatus().getPodIP()).as("an address from the pod network").startsWith("10.244.");

    // Baseline for QuietResyncIT: once settled, the cluster itself (controllers, kubelet, ingress
    // controller, cert-manager) writes none of the resource types the quiet test counts; lease
    // renewals and node status are "leases" and "nodes", not counted.
    QuietResyncIT.sleep(Duration.ofSeconds(5));
    ApiWriteCounter.Snapshot quietStart = counter.snapshot();
    QuietResyncIT.sleep(Duration.ofSeconds(10));
    ApiWriteCounter.Snapshot quietEnd = counter.snapshot();
    assertThat(quietEnd.operatorWritesSince(quietStart))
        .as("writes by the idle control plane (all: %s)", quietEnd.since(quietStart, Set.of())).isEmpty();
  }

  @Test
  @Order(2)
  void podSecurityAdmissionRejectsALaxTemplate() {
    // Same Deployment without a seccomp profile: the ReplicaSet controller cannot create its pod.
    cp.kubectl().runWithInput(deployment("lax", ""), "apply", "-n", ns, "-f", "-").orFail();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
        assertThat(cp.client().v1().events().inNamespace(ns).list().getItems())
            .anySatisfy(e -> {
              assertThat(e.getReason()).isEqualTo("FailedCreate");
              assertThat(e.getMessage()).contains("violates PodSecurity \"restricted");
            }));
    assertThat(cp.client().pods().inNamespace(ns).withLabel("app", "lax").list().getItems()).isEmpty();
  }
}
