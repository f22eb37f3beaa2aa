package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.safedefaults.microapp.hosts.HostClaims;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The operator's release over its life on a real cluster, as a platform team goes through it: it
 * was installed by {@code e2e/stack.sh} with the chart (its image, in-cluster config, leader
 * election, the chart's RBAC); a {@code helm upgrade} that changes an organisation default replaces
 * the operator's pod and the apps converge to the new default; {@code helm uninstall} removes every
 * object of the operator and leaves the apps running and reachable; installing again picks them up.
 * Runs after every other test that needs the operator.
 */
@Order(Integer.MAX_VALUE - 1)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HelmLifecycleIT extends E2ETestBase {
  static final String SELECTOR = "app.kubernetes.io/instance=" + InClusterOperator.RELEASE;
  static String ns;
  static String base;

  @BeforeAll
  static void anAppWithTheOrganisationsDefaultLimits() {
    ns = newNamespace("helm");
    // where2eat without its own rateLimit: it gets the organisation's default per-user limit
    String app = inNamespace(readExample("where2eat.yaml"), ns)
        .replaceAll("(?m)^  rateLimit:\\n(    .*\\n)+", "");
    assertThat(app).doesNotContain("rateLimit");
    applyYaml(app, ns).orFail();
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    base = "https://" + appHost("where2eat", ns);
  }

  @AfterAll
  static void leaveTheOperatorInstalled() throws Exception {
    if (client().apps().deployments().inNamespace(InClusterOperator.NAMESPACE).withName(InClusterOperator.RELEASE).get() == null) {
      install(); // a failed test must not leave later runs of E2E_STACK without an operator
    }
  }

  @Test
  @Order(1)
  void anUpgradeReplacesTheOperatorAndAppsConvergeToTheNewDefault() throws Exception {
    String oldPod = operator().readyPod().orElseThrow().getMetadata().getName();
    assertThat(sidecarConfig()).contains("\"perUserPerMinute\" : 60");
    helm("upgrade", InClusterOperator.RELEASE, repoRoot().resolve("helm/microapp-operator").toString(),
        "-n", InClusterOperator.NAMESPACE, "--reuse-values", "--set", "defaults.limits.perUserPerMinute=45",
        "--wait", "--timeout", "180s");
    String leader = operator().awaitLeader(Duration.ofSeconds(90));
    assertThat(leader).as("a new operator pod leads").isNotEqualTo(oldPod);
    await("the app's sidecar gets the new default").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .until(() -> sidecarConfig().contains("\"perUserPerMinute\" : 45"));
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    // the examples' explicit limit is theirs: an app that sets its own keeps it
    assertThat(operator().log()).doesNotContain("\"level\":\"ERROR\"");
  }

  @Test
  @Order(2)
  void uninstallRemovesTheOperatorAndLeavesTheAppsRunning() throws Exception {
    Pod appPod = runningPod(ns, "where2eat");
    helm("uninstall", InClusterOperator.RELEASE, "-n", InClusterOperator.NAMESPACE, "--wait", "--timeout", "120s");

    await("the operator's pods gone").atMost(Duration.ofSeconds(90)).until(() -> operator().pods().isEmpty());
    List<String> left = new ArrayList<>();
    for (var list : List.of(
        client().apps().deployments().inAnyNamespace().withLabelSelector(SELECTOR).list().getItems(),
        client().serviceAccounts().inAnyNamespace().withLabelSelector(SELECTOR).list().getItems(),
        client().services().inAnyNamespace().withLabelSelector(SELECTOR).list().getItems(),
        client().configMaps().inAnyNamespace().withLabelSelector(SELECTOR).list().getItems(),
        client().rbac().roles().inAnyNamespace().withLabelSelector(SELECTOR).list().getItems(),
        client().rbac().roleBindings().inAnyNamespace().withLabelSelector(SELECTOR).list().getItems(),
        client().rbac().clusterRoles().withLabelSelector(SELECTOR).list().getItems(),
        client().rbac().clusterRoleBindings().withLabelSelector(SELECTOR).list().getItems(),
        client().leases().inNamespace(InClusterOperator.NAMESPACE).withLabelSelector("!" + HostClaims.CLAIM_LABEL)
            .list().getItems())) {
      for (HasMetadata o : list) {
        left.add(o.getKind() + " " + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName());
      }
    }
    assertThat(left).as("objects of the operator after helm uninstall").isEmpty();
    // What stays, on purpose: the sealing keyset and its public half (every sealed value in git must
    // still open after a reinstall), the CRD and the MicroApps (Helm never deletes CRDs).
    List<String> kept = new ArrayList<>();
    client().secrets().inNamespace(InClusterOperator.NAMESPACE).list().getItems()
        .forEach(s -> kept.add("Secret " + s.getMetadata().getName()));
    client().configMaps().inNamespace(InClusterOperator.NAMESPACE).list().getItems()
        .forEach(c -> kept.add("ConfigMap " + c.getMetadata().getName()));
    assertThat(kept).containsExactlyInAnyOrder("Secret microapp-sealing-keys", "ConfigMap microapp-sealing-public-key",
        "ConfigMap kube-root-ca.crt");
    // and the host claims: the apps keep their Ingresses, so after a reinstall no newer app may
    // take a host that is still served. One per exposed app, named after its host.
    assertThat(client().leases().inNamespace(InClusterOperator.NAMESPACE).withLabelSelector(HostClaims.CLAIM_LABEL)
        .list().getItems()).extracting(l -> l.getMetadata().getName())
        .contains(HostClaims.leaseName(appHost("where2eat", ns)));
    assertThat(microApp(ns, "where2eat")).as("the MicroApp").isNotNull();

    // the app runs on, untouched, and still answers through the ingress controller
    Pod same = runningPod(ns, "where2eat");
    assertThat(same.getMetadata().getUid()).isEqualTo(appPod.getMetadata().getUid());
    assertThat(ingress().get(base + "/", "Accept: text/html").status()).isEqualTo(302);
  }

  @Test
  @Order(3)
  void installingAgainPicksTheAppsUp() throws Exception {
    install();
    operator().awaitLeader(Duration.ofSeconds(120));
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    kubectl().run("patch", "microapp", "where2eat", "-n", ns, "--type=merge",
        "-p", "{\"spec\":{\"auth\":{\"sessionTTL\":\"4h\"}}}").orFail();
    await("the reinstalled operator reconciles a change").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .until(() -> sidecarConfig().contains("\"ttlSeconds\" : 14400"));
  }

  static String sidecarConfig() {
    return client().configMaps().inNamespace(ns).withName("where2eat-auth-proxy").get().getData().get("config.json");
  }

  /** What e2e/stack.sh does to install the operator, with this run's values. */
  static void install() throws IOException, InterruptedException {
    ControlPlane cp = e2e.controlPlane();
    List<String> cmd = new ArrayList<>(List.of("bash", repoRoot().resolve("e2e/stack.sh").toString(), "install", "--"));
    cmd.addAll(ControlPlane.OPERATOR_VALUES);
    run(cmd, List.of("KUBECONFIG=" + cp.kubeconfig(), "NODE_IP=" + cp.ingressAddress(), "INGRESS_CA=" + cp.ingressCa()));
  }

  static void helm(String... args) throws IOException, InterruptedException {
    Path helm = Path.of(Env.kubeApiTestDir(), "bin", "helm");
    List<String> cmd = new ArrayList<>(List.of(helm.toString(), "--kubeconfig", e2e.controlPlane().kubeconfig().toString()));
    cmd.addAll(List.of(args));
    run(cmd, List.of());
  }

  static void run(List<String> cmd, List<String> env) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("KUBE_API_TEST_DIR", Env.kubeApiTestDir());
    for (String kv : env) {
      pb.environment().put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    Optional<Processes.Finished> f = Processes.run(pb, null, Duration.ofMinutes(5));
    assertThat(f).as("%s did not finish", cmd).isPresent();
    assertThat(f.get().code()).as("%s: %s", String.join(" ", cmd), f.get().out()).isZero();
  }
}
