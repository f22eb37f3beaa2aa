package io.safedefaults.microapp.e2e;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A control plane of the test's own ({@code e2e/control-plane/up.sh <prefix>-<random>}: etcd,
 * kube-apiserver, kube-controller-manager on loopback, no node), for tests that crash its
 * components ({@code restart.sh}) and so must not share the platform the other classes use.
 * Pods never run on it; everything the operator writes does. {@link #close} (or, if the test JVM
 * ends first, a shutdown hook) runs {@code down.sh} after copying the component logs to
 * {@code target/<name>-logs}.
 */
final class LocalControlPlane implements AutoCloseable {
  private final Path repoRoot;
  private final Path targetDir;
  private final String name;
  private final Path kubeconfig;
  private final Kubectl kubectl;
  private final KubernetesClient client;
  private final Thread downOnExit;
  private boolean closed;

  private LocalControlPlane(Path repoRoot, Path targetDir, String name) {
    this.repoRoot = repoRoot;
    this.targetDir = targetDir;
    this.name = name;
    this.kubeconfig = ControlPlane.stateDir().resolve(name).resolve("kubeconfig");
    this.kubectl = new Kubectl(ControlPlane.kubectlBinary(repoRoot), kubeconfig);
    try {
      Config config = Config.fromKubeconfig(Files.readString(kubeconfig));
      // fail fast while a component is down: the tests poll, they do not wait inside a request
      config.setRequestTimeout(5_000);
      config.setConnectionTimeout(2_000);
      config.setRequestRetryBackoffLimit(0);
      this.client = new KubernetesClientBuilder().withConfig(config).build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.downOnExit = new Thread(this::down, "control-plane-" + name + "-down");
    Runtime.getRuntime().addShutdownHook(downOnExit);
  }

  /** Starts {@code up.sh <prefix>-<random>}; on failure removes what it started and throws. */
  static LocalControlPlane up(String prefix) {
    Path root = ControlPlane.findRepoRoot();
    Path target = ControlPlane.targetDir(root);
    String name = prefix + "-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
    int rc = script(root, target, name, "e2e/control-plane/up.sh", List.of(name));
    if (rc != 0) {
      script(root, target, name, "e2e/control-plane/down.sh", List.of(name));
      throw new IllegalStateException("e2e/control-plane/up.sh " + name + " exited " + rc + "; see "
          + target.resolve(name + ".log"));
    }
    return new LocalControlPlane(root, target, name);
  }

  String name() {
    return name;
  }

  Path kubeconfig() {
    return kubeconfig;
  }

  Kubectl kubectl() {
    return kubectl;
  }

  KubernetesClient client() {
    return client;
  }

  /**
   * {@code restart.sh}: SIGKILL one component ({@code etcd}, {@code kube-apiserver}), keep it down
   * for {@code down}, start it again with its original command line; returns once it answers.
   */
  void crashAndRestart(String component, Duration down) {
    List<String> args = new ArrayList<>(List.of(name, component, "--down", String.valueOf(down.toMillis() / 1000.0)));
    int rc = script(repoRoot, targetDir, name, "e2e/control-plane/restart.sh", args);
    if (rc != 0) {
      throw new IllegalStateException("restart.sh " + String.join(" ", args) + " exited " + rc);
    }
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      down();
      try {
        Runtime.getRuntime().removeShutdownHook(downOnExit);
      } catch (IllegalStateException alreadyExiting) {
        // the hook is running or has run
      }
    }
  }

  private synchronized void down() {
    if (closed) {
      return;
    }
    closed = true;
    client.close();
    ControlPlane.copyLogs(ControlPlane.stateDir().resolve(name), targetDir, name + "-logs");
    script(repoRoot, targetDir, name, "e2e/control-plane/down.sh", List.of(name));
  }

  private static int script(Path root, Path target, String name, String script, List<String> args) {
    return ControlPlane.runScript(root, target.resolve(name + ".log"), "[" + name + "] ", script, args);
  }
}
