package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * Checklist 7 on a running pod, checked from inside each container rather than from the manifest:
 * the app container reports on itself ({@code /where2eat selfcheck}: what the kernel says in
 * /proc/self, which paths it can write, whether a service-account token is there); the sidecar's
 * image has no such tool, so its process is read from the node ({@code /proc/<pid>}, its own mount
 * namespace). Both must be exactly what the operator rendered: the uid it set, no capability at
 * all, no_new_privs, seccomp filtering, a read-only root with /tmp as the only writable place, no
 * token.
 */
@Order(3)
class PodSecurityIT extends E2ETestBase {
  static final ObjectMapper JSON = new ObjectMapper();
  static String ns;
  static Pod pod;
  static Deployment rendered;

  @BeforeAll
  static void runningApp() {
    ns = newNamespace("podsec");
    applyExampleIn("where2eat.yaml", ns).orFail();
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    pod = runningPod(ns, "where2eat");
    rendered = client().apps().deployments().inNamespace(ns).withName("where2eat").get();
  }

  long renderedUid() {
    PodSecurityContext psc = rendered.getSpec().getTemplate().getSpec().getSecurityContext();
    assertThat(psc.getRunAsUser()).as("the operator renders a uid (runAsNonRoot needs a numeric one)").isNotNull();
    return psc.getRunAsUser();
  }

  @Test
  void theAppContainerRunsExactlyAsRendered() throws Exception {
    JsonNode self = JSON.readTree(exec(pod, "app", "/where2eat", "selfcheck"));
    String desc = self.toPrettyString();
    assertThat(self.path("uid").asLong()).as(desc).isEqualTo(renderedUid()).isNotZero();
    assertThat(self.path("euid").asLong()).as(desc).isEqualTo(renderedUid());
    assertThat(self.path("noCapabilities").asBoolean()).as("CapInh/Prm/Eff/Amb all zero: %s", desc).isTrue();
    assertThat(self.path("status").path("CapBnd").asText()).as("bounding set empty (drop ALL): %s", desc)
        .isEqualTo("0000000000000000");
    assertThat(self.path("noNewPrivs").asBoolean()).as("allowPrivilegeEscalation: false → no_new_privs: %s", desc).isTrue();
    assertThat(self.path("seccompMode").asText()).as("seccomp RuntimeDefault → filter mode: %s", desc).isEqualTo("filter");
    assertThat(self.path("writable").path("/").path("writable").asBoolean()).as("/ read-only: %s", desc).isFalse();
    assertThat(self.path("writable").path("/").path("error").asText()).contains("read-only");
    assertThat(self.path("writable").path("/etc").path("writable").asBoolean()).as(desc).isFalse();
    assertThat(self.path("writable").path("/tmp").path("writable").asBoolean()).as("/tmp (an emptyDir) writable: %s", desc)
        .isTrue();
    assertThat(self.path("serviceAccountToken").asBoolean()).as("no service-account token mounted: %s", desc).isFalse();
    for (JsonNode m : self.path("mounts")) {
      assertThat(m.path("mountPoint").asText()).as("mounts: %s", desc).doesNotContain("serviceaccount");
    }
  }

  @Test
  void theSidecarProcessRunsExactlyAsRendered() throws Exception {
    ContainerProcess sidecar = ContainerProcess.of(e2e.controlPlane(), pod, "auth-proxy");
    Map<String, String> status = sidecar.status();
    String desc = status.toString();
    assertThat(status.get("Uid").split("\\s+")).as("real, effective, saved, fs uid: %s", desc)
        .containsOnly(Long.toString(renderedUid()));
    for (String cap : new String[] {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
      assertThat(status.get(cap)).as("%s of the sidecar's JVM", cap).isEqualTo("0000000000000000");
    }
    assertThat(status.get("NoNewPrivs")).as(desc).isEqualTo("1");
    assertThat(status.get("Seccomp")).as("seccomp filter mode: %s", desc).isEqualTo("2");
    // its mount namespace: the root is read-only, /tmp and the config/key volumes are the only other mounts
    String root = sidecar.mounts().stream().filter(l -> l.split(" ")[4].equals("/")).findFirst().orElseThrow();
    assertThat(root.split(" ")[5]).as("root mount options: %s", root).startsWith("ro");
    assertThat(Files.exists(sidecar.path("/var/run/secrets/kubernetes.io/serviceaccount/token")))
        .as("no service-account token in the sidecar's filesystem").isFalse();
    // the rendered container says so too: the same facts, once from the kernel and once from the spec
    Container spec = rendered.getSpec().getTemplate().getSpec().getContainers().stream()
        .filter(c -> "auth-proxy".equals(c.getName())).findFirst().orElseThrow();
    assertThat(spec.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(spec.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
  }
}
