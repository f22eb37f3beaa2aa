package io.safedefaults.microapp.e2e;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The cluster the tests run against: either a dedicated local control plane started with
 * {@code e2e/control-plane/up.sh e2e-<random>} (and stopped with {@code down.sh} at the end), or,
 * with {@code E2E_USE_EXISTING_CLUSTER=true}, whatever {@code KUBECONFIG} points at.
 */
public final class ControlPlane {

  private static final String DEFAULT_KUBE_VERSION = "1.34.4";

  private final Path repoRoot;
  private final Path targetDir;
  private final boolean existing;
  private final String name; // null for an existing cluster
  private final Path kubeconfig; // null for an existing cluster (kubectl/fabric8 read KUBECONFIG)
  private final Kubectl kubectl;
  private final KubernetesClient client;

  private ControlPlane(Path repoRoot, Path targetDir, boolean existing, String name, Path kubeconfig, Kubectl kubectl) {
    this.repoRoot = repoRoot;
    this.targetDir = targetDir;
    this.existing = existing;
    this.name = name;
    this.kubeconfig = kubeconfig;
    this.kubectl = kubectl;
    Config config;
    try {
      config = kubeconfig == null
          ? Config.autoConfigure(null)
          : Config.fromKubeconfig(Files.readString(kubeconfig));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.client = new KubernetesClientBuilder().withConfig(config).build();
  }

  /** Starts (or attaches to) the cluster. Blocking; the first up.sh run may build binaries for a long time. */
  public static ControlPlane start() {
    Path root = findRepoRoot();
    Path target = targetDir(root);
    if (Env.useExistingCluster()) {
      Path bin = kubectlBinary(root);
      Kubectl k = new Kubectl(Files.isExecutable(bin) ? bin : Path.of("kubectl"), null);
      log("using the existing cluster from KUBECONFIG (" + Optional.ofNullable(System.getenv("KUBECONFIG")).orElse("~/.kube/config")
          + ") with " + k.binary());
      return new ControlPlane(root, target, true, null, null, k);
    }
    String name = "e2e-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
    log("starting control plane '" + name + "' with e2e/control-plane/up.sh (the first run builds the binaries)");
    Path upLog = target.resolve("control-plane-up.log");
    int rc = runScript(root, upLog, "up.sh", name);
    Path state = stateDir().resolve(name);
    if (rc != 0) {
      runScript(root, target.resolve("control-plane-down.log"), "down.sh", name);
      throw new IllegalStateException("e2e/control-plane/up.sh " + name + " exited " + rc + "; see " + upLog);
    }
    Path kubeconfig = state.resolve("kubeconfig");
    if (!Files.isReadable(kubeconfig)) {
      throw new IllegalStateException("up.sh succeeded but wrote no " + kubeconfig);
    }
    Path bin = kubectlBinary(root);
    if (!Files.isExecutable(bin)) {
      throw new IllegalStateException("no kubectl at " + bin + " after up.sh");
    }
    return new ControlPlane(root, target, false, name, kubeconfig, new Kubectl(bin, kubeconfig));
  }

  /** Stops the dedicated control plane (keeps a copy of its logs under target/). No-op for an existing cluster. */
  public void stop() {
    client.close();
    if (existing) {
      return;
    }
    copyLogs();
    if (Env.keepCluster()) {
      log("E2E_KEEP_CLUSTER=true: leaving control plane '" + name + "' running; KUBECONFIG=" + kubeconfig
          + "; stop it with e2e/control-plane/down.sh " + name);
      return;
    }
    int rc = runScript(repoRoot, targetDir.resolve("control-plane-down.log"), "down.sh", name);
    log("control plane '" + name + "' stopped (down.sh exit " + rc + ")");
  }

  public boolean isExisting() {
    return existing;
  }

  public String name() {
    return name;
  }

  /** The admin kubeconfig of the dedicated control plane, or null with an existing cluster. */
  public Path kubeconfig() {
    return kubeconfig;
  }

  public Kubectl kubectl() {
    return kubectl;
  }

  public KubernetesClient client() {
    return client;
  }

  public Path repoRoot() {
    return repoRoot;
  }

  public Path targetDir() {
    return targetDir;
  }

  /**
   * Applies the CRDs with server-side apply and waits until they are Established. Uses the
   * checked-in {@code crds/}; falls back to the ones the operator build generated if that
   * directory does not exist yet.
   */
  public void applyCrds() {
    Path crds = repoRoot.resolve("crds");
    if (!Files.isDirectory(crds)) {
      Path generated = repoRoot.resolve("operator/target/classes/META-INF/fabric8");
      log("WARNING: no crds/ directory in the repository; applying the generated " + generated);
      crds = generated;
    }
    // Only the files kubectl would pick from the directory, listed for the log.
    List<String> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(crds)) {
      s.filter(p -> p.toString().matches(".*\\.(ya?ml|json)$")).sorted().forEach(p -> files.add(p.getFileName().toString()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + crds, e);
    }
    if (files.isEmpty()) {
      throw new IllegalStateException("no CRD files in " + crds);
    }
    log("applying CRDs " + files + " from " + crds);
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", crds.toString()).orFail();
    kubectl.run(null, Duration.ofSeconds(90), "wait", "--for=condition=Established", "--timeout=60s", "-f", crds.toString())
        .orFail();
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The repository root: the first directory, walking up from {@code e2e.repoRoot},
   * {@code maven.multiModuleProjectDirectory} or the working directory, that holds
   * {@code e2e/control-plane/up.sh}.
   */
  static Path findRepoRoot() {
    for (String start : new String[] {
        System.getProperty("e2e.repoRoot"), System.getProperty("maven.multiModuleProjectDirectory"),
        System.getProperty("user.dir")}) {
      if (start == null || start.isBlank()) {
        continue;
      }
      for (Path p = Path.of(start).toAbsolutePath().normalize(); p != null; p = p.getParent()) {
        if (Files.isRegularFile(p.resolve("e2e/control-plane/up.sh"))) {
          return p;
        }
      }
    }
    throw new IllegalStateException("cannot find the repository root (a directory with e2e/control-plane/up.sh)");
  }

  static Path targetDir(Path repoRoot) {
    String prop = System.getProperty("e2e.targetDir");
    Path t = prop != null && !prop.isBlank() ? Path.of(prop) : repoRoot.resolve("e2e/target");
    try {
      Files.createDirectories(t);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return t.toAbsolutePath().normalize();
  }

  static Path stateDir() {
    String env = System.getenv("CONTROL_PLANE_STATE_DIR");
    return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".microapp-controlplane");
  }

  /** {@code $KUBE_API_TEST_DIR/k8s/<version>-linux-amd64/kubectl}, as built by the control-plane scripts. */
  static Path kubectlBinary(Path repoRoot) {
    return Path.of(Env.kubeApiTestDir(), "k8s", kubeVersion(repoRoot) + "-linux-amd64", "kubectl");
  }

  /** KUBE_VERSION from e2e/control-plane/versions.env (the scripts' source of truth), else kube.version. */
  static String kubeVersion(Path repoRoot) {
    try {
      for (String line : Files.readAllLines(repoRoot.resolve("e2e/control-plane/versions.env"))) {
        if (line.startsWith("KUBE_VERSION=")) {
          return line.substring("KUBE_VERSION=".length()).strip();
        }
      }
    } catch (IOException ignored) {
      // fall through
    }
    return Optional.ofNullable(System.getProperty("kube.version")).filter(s -> !s.isBlank()).orElse(DEFAULT_KUBE_VERSION);
  }

  /** Runs a control-plane script, echoing its output with a prefix and copying it to {@code logFile}. */
  private static int runScript(Path repoRoot, Path logFile, String script, String name) {
    ProcessBuilder pb = new ProcessBuilder("bash", repoRoot.resolve("e2e/control-plane").resolve(script).toString(), name)
        .directory(repoRoot.toFile())
        .redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    env.put("KUBE_API_TEST_DIR", Env.kubeApiTestDir());
    // The scripts would otherwise derive the state dir from $HOME, which need not be user.home.
    env.put("CONTROL_PLANE_STATE_DIR", stateDir().toString());
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND))) {
      Process p = pb.start();
      p.getOutputStream().close();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          System.out.println("[control-plane] " + line);
          out.println(line);
          out.flush();
        }
      }
      // The scripts bound their own waits (build, start timeout); this is only a backstop.
      if (!p.waitFor(3, TimeUnit.HOURS)) {
        p.destroyForcibly();
        return -1;
      }
      return p.exitValue();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + script, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private void copyLogs() {
    Path logs = stateDir().resolve(name).resolve("logs");
    if (!Files.isDirectory(logs)) {
      return;
    }
    Path dest = targetDir.resolve("control-plane-logs");
    try (Stream<Path> s = Files.list(logs)) {
      Files.createDirectories(dest);
      for (Path p : s.toList()) {
        Files.copy(p, dest.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      log("could not copy control-plane logs: " + e);
    }
  }

  static void log(String msg) {
    System.out.println("[e2e] " + msg);
  }
}
