package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.safedefaults.microapp.api.MicroApp;
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

  protected static OperatorProcess operator() {
    return e2e.operator();
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

  /** {@code kubectl apply -n <namespace> -f -} of an example file, re-targeted at the test's namespace. */
  protected static Kubectl.Result applyExampleIn(String file, String namespace) {
    return kubectl().runWithInput(withoutNamespace(readExample(file)), "apply", "-n", namespace, "-f", "-");
  }

  protected static Kubectl.Result applyYaml(String yaml, String namespace) {
    return kubectl().runWithInput(yaml, "apply", "-n", namespace, "-f", "-");
  }

  protected static MicroApp microApp(String namespace, String name) {
    return client().resources(MicroApp.class).inNamespace(namespace).withName(name).get();
  }

  protected static Optional<Condition> condition(MicroApp app, String type) {
    if (app == null || app.getStatus() == null || app.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return app.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  protected static String conditionStatus(MicroApp app, String type) {
    return condition(app, type).map(Condition::getStatus).orElse("<missing>");
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
    for (Condition c : app.getStatus().getConditions()) {
      sb.append("\n  ").append(c.getType()).append('=').append(c.getStatus()).append(" reason=").append(c.getReason())
          .append(" message=").append(c.getMessage());
    }
    return sb.toString();
  }

  /**
   * Keeps marking the Deployment's pods Ready (the fake kubelet) until the MicroApp reports
   * Ready=True for its current generation.
   */
  protected static MicroApp awaitReady(String namespace, String name, Duration timeout) {
    MicroApp[] last = new MicroApp[1];
    try {
      await().atMost(timeout).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().until(() -> {
        e2e.fakeKubelet().markDeploymentPodsReady(namespace, name);
        MicroApp app = microApp(namespace, name);
        last[0] = app;
        return app != null && app.getStatus() != null
            && "True".equals(conditionStatus(app, "Ready"))
            && app.getMetadata().getGeneration().equals(app.getStatus().getObservedGeneration());
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("MicroApp " + namespace + "/" + name + " not Ready within " + timeout.toSeconds() + " s; status: "
          + describeStatus(last[0]) + "\noperator log tail:\n" + operator().logTail(30), e);
    }
    return last[0];
  }

  /** Asserts the operator process is still alive (a crash would make every later check meaningless). */
  protected static void assertOperatorAlive() {
    assertThat(operator().isRunning()).as("operator process alive; log tail:\n%s", operator().logTail(40)).isTrue();
  }
}
