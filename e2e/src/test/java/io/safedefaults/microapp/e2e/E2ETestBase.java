package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.StatusCondition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Shared set-up and helpers of the IT classes: cluster, operator, namespaces, example manifests. */
public abstract class E2ETestBase {

  protected static E2E e2e;
  private static final List<String> namespacesToDelete = new ArrayList<>();

  @BeforeAll
  static void startEnvironment() {
    e2e = E2E.get();
  }

  @AfterAll
  static void deleteNamespaces() {
    synchronized (namespacesToDelete) {
      for (String ns : namespacesToDelete) {
        // --wait=false: the namespace controller finishes it; nothing later reuses the name.
        e2e.kubectl().run("delete", "namespace", ns, "--ignore-not-found", "--wait=false");
      }
      namespacesToDelete.clear();
    }
  }

  protected static Kubectl kubectl() {
    return e2e.kubectl();
  }

  protected static KubernetesClient client() {
    return e2e.client();
  }

  protected static InClusterOperator operator() {
    return e2e.operator();
  }

  protected static IngressHttp ingress() {
    return e2e.ingress();
  }

  /** The running pod of an app's Deployment (the newest, if a rollout is under way). */
  protected static Pod runningPod(String namespace, String app) {
    return client().pods().inNamespace(namespace).withLabel("safedefaults.io/app", app).list().getItems().stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null && "Running".equals(p.getStatus().getPhase()))
        .filter(p -> !p.getMetadata().getLabels().containsKey("job-name"))
        .max(java.util.Comparator.comparing(p -> p.getMetadata().getCreationTimestamp()))
        .orElseThrow(() -> new AssertionError("no running pod of " + namespace + "/" + app + "; pods: "
            + client().pods().inNamespace(namespace).list().getItems().stream()
                .map(p -> p.getMetadata().getName() + "=" + p.getStatus().getPhase()).toList()));
  }

  /** {@code kubectl exec} in one container of a pod; the container's output, or a failed assertion. */
  protected static String exec(Pod pod, String container, String... command) {
    List<String> args = new ArrayList<>(List.of("-n", pod.getMetadata().getNamespace(), "exec", pod.getMetadata().getName(),
        "-c", container, "--"));
    args.addAll(List.of(command));
    return kubectl().run(args.toArray(String[]::new)).orFail().stdout();
  }

  /**
   * A fresh namespace with Pod Security "restricted" enforced (and warn/audit), so the API
   * server's own admission rejects any pod template the operator gets wrong. Deleted after the class.
   */
  protected static String newNamespace(String prefix) {
    String name = "e2e-" + prefix + "-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
    Namespace ns = new NamespaceBuilder().withNewMetadata().withName(name)
        .addToLabels("pod-security.kubernetes.io/enforce", "restricted")
        .addToLabels("pod-security.kubernetes.io/warn", "restricted")
        .addToLabels("pod-security.kubernetes.io/audit", "restricted")
        .addToLabels("app.kubernetes.io/part-of", "microapp-e2e")
        .endMetadata().build();
    client().namespaces().resource(ns).create();
    synchronized (namespacesToDelete) {
      namespacesToDelete.add(name);
    }
    return name;
  }

  protected static Path repoRoot() {
    return e2e.controlPlane().repoRoot();
  }

  protected static String readExample(String file) {
    try {
      return Files.readString(repoRoot().resolve("examples").resolve(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The example's manifest with its {@code metadata.namespace} line removed, for {@code kubectl apply -n}. */
  protected static String withoutNamespace(String manifest) {
    return manifest.replaceAll("(?m)^[ \t]+namespace:[ \t]*\\S+[ \t]*(\r?\n|$)", "");
  }

  /**
   * {@code kubectl apply -n <namespace> -f -} of an example file, re-targeted at the test's
   * namespace and at a host of its own ({@link #appHost}): two apps on one host would share the
   * ingress controller's route, and each test must reach its own pod.
   */
  protected static Kubectl.Result applyExampleIn(String file, String namespace) {
    return kubectl().runWithInput(inNamespace(readExample(file), namespace), "apply", "-n", namespace, "-f", "-");
  }

  /** An example's manifest for another namespace: no namespace line, and its host moved to {@link #appHost}. */
  protected static String inNamespace(String manifest, String namespace) {
    return withoutNamespace(manifest).replaceAll("(?m)^(\\s*host:\\s*)([a-z0-9-]+)\\.apps\\.example\\.com\\s*$",
        "$1$2." + namespace + ".apps.example.com");
  }

  /**
   * examples/where2eat.yaml in a new namespace, Ready, and routed: the ingress controller answers
   * its host with the sidecar's sign-in redirect (it picks up the route and cert-manager's
   * certificate within moments of Ready). Returns the namespace; the app is at
   * {@code https://} + {@link #appHost}.
   */
  protected static String where2eatBehindIngress(String prefix) {
    String ns = newNamespace(prefix);
    applyExampleIn("where2eat.yaml", ns).orFail();
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    String base = "https://" + appHost("where2eat", ns);
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> ingress().get(base + "/", "Accept: text/html").status() == 302);
    return ns;
  }

  /** The host an example app gets in a test namespace: {@code <app>.<namespace>.apps.example.com}. */
  protected static String appHost(String app, String namespace) {
    return app + "." + namespace + ".apps.example.com";
  }

  protected static Kubectl.Result applyYaml(String yaml, String namespace) {
    return kubectl().runWithInput(yaml, "apply", "-n", namespace, "-f", "-");
  }

  protected static MicroApp microApp(String namespace, String name) {
    return client().resources(MicroApp.class).inNamespace(namespace).withName(name).get();
  }

  protected static Optional<StatusCondition> condition(MicroApp app, String type) {
    if (app == null || app.getStatus() == null || app.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return app.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  protected static String conditionStatus(MicroApp app, String type) {
    return condition(app, type).map(StatusCondition::getStatus).orElse("<missing>");
  }

  /** One line per condition, for assertion messages. */
  protected static String describeStatus(MicroApp app) {
    if (app == null) {
      return "<no MicroApp>";
    }
    if (app.getStatus() == null) {
      return "<no status> generation=" + app.getMetadata().getGeneration();
    }
    StringBuilder sb = new StringBuilder("generation=").append(app.getMetadata().getGeneration())
        .append(" observedGeneration=").append(app.getStatus().getObservedGeneration())
        .append(" url=").append(app.getStatus().getUrl());
    if (app.getStatus().getChecklist() != null) {
      var c = app.getStatus().getChecklist();
      sb.append(" checklist=").append(c.getPassed()).append('/').append(c.getTotal())
          .append(" failing=").append(c.getFailing()).append(" relaxed=").append(c.getRelaxed());
    }
    for (StatusCondition c : app.getStatus().getConditions()) {
      sb.append("\n  ").append(c.getType()).append('=').append(c.getStatus()).append(" reason=").append(c.getReason())
          .append(" message=").append(c.getMessage());
    }
    return sb.toString();
  }

  /** Waits until the MicroApp reports Ready=True for its current generation: its pod really runs. */
  protected static MicroApp awaitReady(String namespace, String name, Duration timeout) {
    MicroApp[] last = new MicroApp[1];
    try {
      await().atMost(timeout).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
        MicroApp app = microApp(namespace, name);
        last[0] = app;
        return app != null && app.getStatus() != null
            && "True".equals(conditionStatus(app, "Ready"))
            && app.getMetadata().getGeneration().equals(app.getStatus().getObservedGeneration());
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("MicroApp " + namespace + "/" + name + " not Ready within " + timeout.toSeconds() + " s; status: "
          + describeStatus(last[0]) + "\npods: " + podStates(namespace) + "\noperator log tail:\n" + operator().logTail(30), e);
    }
    return last[0];
  }

  /** Each pod's phase and its containers' waiting/terminated reasons, for assertion messages. */
  protected static String podStates(String namespace) {
    return client().pods().inNamespace(namespace).list().getItems().stream().map(p -> p.getMetadata().getName() + "="
        + p.getStatus().getPhase() + p.getStatus().getContainerStatuses().stream()
            .map(cs -> " " + cs.getName() + (cs.getState().getWaiting() != null ? ":" + cs.getState().getWaiting().getReason()
                : cs.getState().getTerminated() != null ? ":" + cs.getState().getTerminated().getReason() : "")
                + (cs.getRestartCount() > 0 ? "(restarts " + cs.getRestartCount() + ")" : ""))
            .collect(java.util.stream.Collectors.joining(",", "[", "]")))
        .toList().toString();
  }

  /** Asserts the operator pod is ready and never restarted (a crash would make every later check meaningless). */
  protected static void assertOperatorAlive() {
    assertThat(operator().isRunning()).as("operator pod ready without restarts; log tail:\n%s", operator().logTail(40)).isTrue();
  }
}
