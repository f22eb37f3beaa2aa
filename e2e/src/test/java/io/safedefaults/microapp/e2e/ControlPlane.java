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
 * The cluster the tests run against: the local platform {@code e2e/stack.sh up e2e-<random>} starts
 * (a real one-node cluster with its ingress controller and CA issuer, the test OIDC provider and the
 * operator installed with its Helm chart) and {@code stack.sh down} removes at the end; or a stack
 * that is already up ({@code E2E_STACK=NAME}, kept running between runs while writing tests); or,
 * with {@code E2E_USE_EXISTING_CLUSTER=true}, whatever {@code KUBECONFIG} points at, prepared with
 * {@code e2e/stack.sh install} ({@code E2E_INGRESS_ADDRESS} and {@code E2E_INGRESS_CA} then say
 * where its ingress controller answers and which CA signs its certificates).
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
  private final String ingressAddress;
  private final Path ingressCa;
  private final Map<String, String> stackEnv;

  private ControlPlane(Path repoRoot, Path targetDir, boolean existing, String name, Path kubeconfig, Kubectl kubectl,
      Map<String, String> stackEnv) {
    this.repoRoot = repoRoot;
    this.targetDir = targetDir;
    this.existing = existing;
    this.name = name;
    this.kubeconfig = kubeconfig;
    this.kubectl = kubectl;
    this.ingressAddress = required(stackEnv, "NODE_IP");
    this.ingressCa = Path.of(required(stackEnv, "INGRESS_CA"));
    this.stackEnv = Map.copyOf(stackEnv);
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

  /** Starts (or attaches to) the cluster. Blocking; the first run builds the node's binaries for a long time. */
  public static ControlPlane start() {
    Path root = findRepoRoot();
    Path target = targetDir(root);
    Path bin = kubectlBinary(root);
    if (Env.useExistingCluster()) {
      Kubectl k = new Kubectl(Files.isExecutable(bin) ? bin : Path.of("kubectl"), null);
      log("using the existing cluster from KUBECONFIG (" + Optional.ofNullable(System.getenv("KUBECONFIG")).orElse("~/.kube/config")
          + ") with " + k.binary());
      return new ControlPlane(root, target, true, null, null, k,
          Map.of("NODE_IP", required(System.getenv(), "E2E_INGRESS_ADDRESS"), "INGRESS_CA", required(System.getenv(), "E2E_INGRESS_CA")));
    }
    String running = Env.stack();
    String name = running != null ? running : "e2e-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
    Path state = stateDir().resolve(name);
    if (running == null) {
      log("starting the local platform '" + name + "' with e2e/stack.sh up (the first run builds the node's binaries)");
      Path upLog = target.resolve("stack-up.log");
      List<String> args = new ArrayList<>(List.of("up", name, "--"));
      args.addAll(OPERATOR_VALUES);
      int rc = runScript(root, upLog, "e2e/stack.sh", args);
      if (rc != 0) {
        copyLogs(state, target);
        runScript(root, target.resolve("stack-down.log"), "e2e/stack.sh", List.of("down", name));
        throw new IllegalStateException("e2e/stack.sh up " + name + " exited " + rc + "; see " + upLog
            + " and " + target.resolve("node-logs"));
      }
    } else {
      log("E2E_STACK=" + name + ": using the running platform (tests leave it running)");
    }
    Path kubeconfig = state.resolve("kubeconfig");
    if (!Files.isReadable(kubeconfig)) {
      throw new IllegalStateException("no platform '" + name + "' is up: no " + kubeconfig);
    }
    if (!Files.isExecutable(bin)) {
      throw new IllegalStateException("no kubectl at " + bin + " after stack.sh up");
    }
    return new ControlPlane(root, target, running != null, name, kubeconfig, new Kubectl(bin, kubeconfig),
        readEnvFile(state.resolve("env")));
  }

  /**
   * The operator's Helm values these tests add to e2e/stack/values.yaml: a 10 s resync, so the
   * quiet-resync test sees several resyncs in a short window.
   */
  static final List<String> OPERATOR_VALUES = List.of("--set", "operator.resyncSeconds=10");

  /** {@code export NAME=value} lines of the stack's env file. */
  static Map<String, String> readEnvFile(Path env) {
    Map<String, String> vars = new java.util.HashMap<>();
    try {
      for (String line : Files.readAllLines(env)) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^\\s*export\\s+(\\w+)=\"?([^\"]*)\"?\\s*$").matcher(line);
        if (m.matches()) {
          vars.put(m.group(1), m.group(2));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + env, e);
    }
    return vars;
  }

  private static String required(Map<String, String> vars, String key) {
    String v = vars.get(key);
    if (v == null || v.isBlank()) {
      throw new IllegalStateException(key + " is not set (the node's env file, or for an existing cluster the"
          + " E2E_INGRESS_ADDRESS / E2E_INGRESS_CA variables, see e2e/README.md)");
    }
    return v;
  }

  /** Stops the dedicated platform (keeps a copy of its logs under target/). No-op for an existing cluster or stack. */
  public void stop() {
    client.close();
    if (existing) {
      return;
    }
    copyLogs(stateDir().resolve(name), targetDir);
    if (Env.keepCluster()) {
      log("E2E_KEEP_CLUSTER=true: leaving the platform '" + name + "' running; KUBECONFIG=" + kubeconfig
          + "; reuse it with E2E_STACK=" + name + ", stop it with e2e/stack.sh down " + name);
      return;
    }
    int rc = runScript(repoRoot, targetDir.resolve("stack-down.log"), "e2e/stack.sh", List.of("down", name));
    log("platform '" + name + "' stopped (stack.sh down exit " + rc + ")");
  }

  /** The node address the ingress controller answers on (its hostPorts 80 and 443). */
  public String ingressAddress() {
    return ingressAddress;
  }

  /**
   * The node's containerd socket ({@code ctr --address}), to look at a container's processes from
   * the node. Only for a node this run started or {@code E2E_STACK}; an existing cluster may name
   * its own with {@code E2E_CONTAINERD_ADDRESS} when the tests run on its node.
   */
  public String containerdAddress() {
    String a = stackEnv.getOrDefault("CONTAINERD_ADDRESS", System.getenv("E2E_CONTAINERD_ADDRESS"));
    if (a == null || a.isBlank()) {
      throw new IllegalStateException("no containerd socket to inspect containers with: run on the local node"
          + " (e2e/stack.sh) or set E2E_CONTAINERD_ADDRESS when the tests run on the cluster's node");
    }
    return a;
  }

  /** PEM of the CA that signs every certificate cert-manager issues here (apps, the provider). */
  public Path ingressCa() {
    return ingressCa;
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

  // ---------------------------------------------------------------------------------------------

  /**
   * The repository root: the first directory, walking up from {@code e2e.repoRoot},
   * {@code maven.multiModuleProjectDirectory} or the working directory, that holds
   * {@code e2e/stack.sh}.
   */
  static Path findRepoRoot() {
    for (String start : new String[] {
        System.getProperty("e2e.repoRoot"), System.getProperty("maven.multiModuleProjectDirectory"),
        System.getProperty("user.dir")}) {
      if (start == null || start.isBlank()) {
        continue;
      }
      for (Path p = Path.of(start).toAbsolutePath().normalize(); p != null; p = p.getParent()) {
        if (Files.isRegularFile(p.resolve("e2e/stack.sh"))) {
          return p;
        }
      }
    }
    throw new IllegalStateException("cannot find the repository root (a directory with e2e/stack.sh)");
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

  /** Runs one of the repository's scripts, echoing its output with a prefix and copying it to {@code logFile}. */
  private static int runScript(Path repoRoot, Path logFile, String script, List<String> args) {
    return runScript(repoRoot, logFile, "[stack] ", script, args);
  }

  /** {@link #runScript(Path, Path, String, List)} with the prefix of the echoed lines. */
  static int runScript(Path repoRoot, Path logFile, String prefix, String script, List<String> args) {
    List<String> cmd = new ArrayList<>(List.of("bash", repoRoot.resolve(script).toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(repoRoot.toFile()).redirectErrorStream(true);
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
          System.out.println(prefix + line);
          out.println(line);
          out.flush();
        }
      }
      // The scripts bound their own waits (builds, start timeouts); this is only a backstop.
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

  /** The node's component logs ({@code <state>/logs}) into {@code target/node-logs}, for reading after a failure. */
  private static void copyLogs(Path state, Path targetDir) {
    copyLogs(state, targetDir, "node-logs");
  }

  /** A control plane's component logs ({@code <state>/logs}) into {@code target/<destName>}. */
  static void copyLogs(Path state, Path targetDir, String destName) {
    Path logs = state.resolve("logs");
    if (!Files.isDirectory(logs)) {
      return;
    }
    Path dest = targetDir.resolve(destName);
    try (Stream<Path> s = Files.list(logs)) {
      Files.createDirectories(dest);
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        Files.copy(p, dest.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      log("could not copy the logs of " + state + ": " + e);
    }
  }

  static void log(String msg) {
    System.out.println("[e2e] " + msg);
  }
}
