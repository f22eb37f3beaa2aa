package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The app's NetworkPolicy enforced by the node's policy enforcer, tried with real connections from
 * pods: a probe pod in another team's namespace, one in the app's own namespace and one in the
 * ingress controller's namespace connect straight to the app pod's IP. The app's own port (8080)
 * is refused from everywhere (only the sidecar in the same pod reaches it, over loopback); the
 * sidecar's port (4180) answers the ingress controller's namespace and nobody else. A control probe
 * to a pod without a policy proves the refusals are the policy's and not a broken probe.
 */
@Order(4)
class NetworkPolicyIT extends E2ETestBase {
  static final String INGRESS_NAMESPACE = "ingress-system";
  static String ns;
  static String other;
  static String appIp;
  static final List<String[]> probes = new ArrayList<>(); // namespace, name, to delete afterwards

  @BeforeAll
  static void appAndProbes() {
    ns = newNamespace("netpol");
    other = newNamespace("netpol-other");
    applyExampleIn("where2eat.yaml", ns).orFail();
    startProbe(other);
    startProbe(ns);
    startProbe(INGRESS_NAMESPACE);
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    appIp = runningPod(ns, "where2eat").getStatus().getPodIP();
    for (String[] p : probes) {
      kubectl().run(null, Duration.ofSeconds(120), "-n", p[0], "wait", "--for=condition=Ready", "pod/" + p[1], "--timeout=110s")
          .orFail();
    }
  }

  @AfterAll
  static void removeProbeFromTheIngressNamespace() {
    kubectl().run("-n", INGRESS_NAMESPACE, "delete", "pod", "netprobe", "--ignore-not-found", "--wait=false");
  }

  /** e2e/apps/netprobe.yaml: a long-running restricted pod of the example image, with a {@code probe} command. */
  static void startProbe(String namespace) {
    kubectl().run("apply", "-n", namespace, "-f", repoRoot().resolve("e2e/apps/netprobe.yaml").toString()).orFail();
    probes.add(new String[] {namespace, "netprobe"});
  }

  /** Whether a TCP connection from the probe pod in {@code namespace} to {@code ip:port} succeeds (3 s). */
  static boolean connects(String namespace, String ip, int port) {
    Kubectl.Result r = kubectl().run(null, Duration.ofSeconds(30), "-n", namespace, "exec", "netprobe", "--",
        "/where2eat", "probe", "tcp://" + ip + ":" + port, "--timeout", "3s");
    return r.ok();
  }

  @Test
  void theProbeWorksWhereNoPolicyApplies() {
    Pod idp = client().pods().inNamespace("identity").list().getItems().get(0);
    assertThat(connects(other, idp.getStatus().getPodIP(), 8080)).as("a pod without a NetworkPolicy answers the probe").isTrue();
  }

  @Test
  void theAppPortIsRefusedFromEveryNamespace() {
    for (String from : List.of(other, ns, INGRESS_NAMESPACE)) {
      assertThat(connects(from, appIp, 8080)).as("from %s to the app container's port 8080", from).isFalse();
    }
  }

  @Test
  void theSidecarPortAnswersOnlyTheIngressControllersNamespace() {
    // the enforcer applies a new policy within a moment; allow it to settle before judging
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(2))
        .until(() -> connects(INGRESS_NAMESPACE, appIp, 4180));
    assertThat(connects(other, appIp, 4180)).as("from another team's namespace to the sidecar").isFalse();
    assertThat(connects(ns, appIp, 4180)).as("from a pod of the app's own namespace to the sidecar").isFalse();
  }
}
