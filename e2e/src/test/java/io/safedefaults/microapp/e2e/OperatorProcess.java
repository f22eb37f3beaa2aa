package io.safedefaults.microapp.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The packaged operator ({@code java -jar operator/target/microapp-operator-all.jar run ...}) as a
 * separate process, exactly as a user would start it outside the cluster. Each start writes its
 * own {@code e2e/target/operator-<n>.log} (stdout and stderr together).
 */
public final class OperatorProcess {

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STOP_GRACE = Duration.ofSeconds(20);

  private final Path jar;
  private final Path kubeconfig; // null: inherit KUBECONFIG
  private final Path targetDir;
  private final List<String> extraArgs;
  private final List<Path> logs = new ArrayList<>();
  private Process process;
  private int port;

  public OperatorProcess(Path jar, Path kubeconfig, Path targetDir, List<String> extraArgs) {
    this.jar = jar;
    this.kubeconfig = kubeconfig;
    this.targetDir = targetDir;
    this.extraArgs = List.copyOf(extraArgs);
    // Logs of an earlier run would be mistaken for this run's.
    try (var old = Files.newDirectoryStream(targetDir, "operator-*.log")) {
      for (Path p : old) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static final String KEYS_NAMESPACE = "microapp-system";

  /** The command line; the flags are the operator CLI's contract with these tests. */
  List<String> command(int httpPort) {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString(),
        "run",
        "--http-port", Integer.toString(httpPort),
        "--http-address", "127.0.0.1",
        "--cluster-issuer", "letsencrypt-test",
        "--ingress-class", "nginx",
        "--default-issuer", "https://login.example.com/realms/acme",
        "--sidecar-image", "ghcr.io/safedefaults/microapp-sidecar:0.1.0",
        "--no-leader-election",
        "--keys-namespace", KEYS_NAMESPACE,
        "--resync-seconds", "10"));
    cmd.addAll(extraArgs);
    return cmd;
  }

  /** Starts the operator and waits until {@code /readyz} answers 200; fails with the log tail otherwise. */
  public synchronized void start() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("operator already running");
    }
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("operator jar " + jar + " not found; build it with: mvn -pl operator -DskipTests package");
    }
    port = freePort();
    Path log = targetDir.resolve("operator-" + (logs.size() + 1) + ".log");
    logs.add(log);
    List<String> cmd = command(port);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    if (kubeconfig != null) {
      pb.environment().put("KUBECONFIG", kubeconfig.toString());
    }
    ControlPlane.log("starting operator: " + String.join(" ", cmd.subList(1, cmd.size())) + " > " + log);
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the operator", e);
    }
    awaitReady(log);
  }

  private void awaitReady(Path log) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz"))
        .timeout(Duration.ofSeconds(2)).GET().build();
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError("the operator exited with code " + process.exitValue() + " before it was ready; "
            + "last lines of " + log + ":\n" + tail(log, 60));
      }
      try {
        HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() == 200) {
          ControlPlane.log("operator ready on 127.0.0.1:" + port + " (pid " + process.pid() + ")");
          return;
        }
        last = "HTTP " + resp.statusCode() + " " + resp.body();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      sleep(500);
    }
    String tail = tail(log, 60);
    stop();
    throw new AssertionError("the operator was not ready within " + READY_TIMEOUT.toSeconds() + " s (/readyz: " + last
        + "); last lines of " + log + ":\n" + tail);
  }

  /** SIGTERM, up to 20 s to exit, then SIGKILL. Returns the exit code (or -1 if it was not running). */
  public synchronized int stop() {
    if (process == null) {
      return -1;
    }
    Process p = process;
    process = null;
    if (!p.isAlive()) {
      return p.exitValue();
    }
    p.destroy();
    try {
      if (!p.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        ControlPlane.log("operator did not stop within " + STOP_GRACE.toSeconds() + " s of SIGTERM; killing it");
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
    return p.isAlive() ? -1 : p.exitValue();
  }

  public void restart() {
    stop();
    start();
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  public int httpPort() {
    return port;
  }

  /** Log of the current (latest) run. */
  public String log() {
    return logs.isEmpty() ? "" : read(logs.get(logs.size() - 1));
  }

  /** Logs of every run so far, oldest first. */
  public List<Path> logFiles() {
    return List.copyOf(logs);
  }

  public String logTail(int lines) {
    return logs.isEmpty() ? "" : tail(logs.get(logs.size() - 1), lines);
  }

  static String tail(Path file, int lines) {
    List<String> all = read(file).lines().toList();
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
