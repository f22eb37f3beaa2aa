package io.safedefaults.microapp.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One replica of the operator as a local process ({@code java -jar microapp-operator-all.jar run})
 * with an identity of its own ({@code POD_NAME}), as a pod of the chart's Deployment would run it.
 * Every start of this run appends to {@code <logDir>/<identity>.log}. {@link #kill} is a crash (SIGKILL),
 * {@link #stop} a planned stop (SIGTERM, what the kubelet sends). {@link #restartIfExited} plays the
 * kubelet's restart policy: a replica that ended on its own (e.g. after losing its lease during an
 * API outage) is started again.
 */
final class LocalOperator implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String identity;
  private final List<String> command;
  private final Map<String, String> env;
  private final Path log;
  private Process process;
  private boolean stoppedOnPurpose;
  private int unplannedRestarts;

  LocalOperator(String identity, Path jar, Path kubeconfig, Path logDir, Map<String, String> env, List<String> args) {
    this.identity = identity;
    this.command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx384m", "-jar", jar.toString(), "run", "--http-address", "127.0.0.1", "--http-port", String.valueOf(freePort())));
    this.command.addAll(args);
    this.env = new java.util.HashMap<>(env);
    this.env.put("KUBECONFIG", kubeconfig.toString());
    this.env.put("POD_NAME", identity);
    this.log = logDir.resolve(identity + ".log");
    // a test JVM that ends early must not leave a replica running against nothing
    Runtime.getRuntime().addShutdownHook(new Thread(this::close, "operator-" + identity + "-kill"));
    try {
      Files.createDirectories(logDir);
      Files.deleteIfExists(log); // a log of this run only
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String identity() {
    return identity;
  }

  synchronized void start() {
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().putAll(env);
      process = pb.start();
      process.getOutputStream().close();
      stoppedOnPurpose = false;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the operator " + identity, e);
    }
  }

  synchronized boolean alive() {
    return process != null && process.isAlive();
  }

  /** A crash: SIGKILL, nothing runs on the way out (no Lease release). */
  synchronized void kill() throws InterruptedException {
    stoppedOnPurpose = true;
    Processes.kill(process);
  }

  /** A planned stop: SIGTERM, then waits for the shutdown hook (controllers stop, the Lease is given up). */
  synchronized int stop() throws InterruptedException {
    stoppedOnPurpose = true;
    if (!Processes.stop(process, Duration.ofSeconds(30))) {
      throw new AssertionError("operator " + identity + " did not stop within 30 s of SIGTERM");
    }
    return process.exitValue();
  }

  /** SIGSTOP: the process is frozen (no reconcile, no lease renewal) until {@link #resume}. */
  synchronized void pause() throws IOException, InterruptedException {
    signal("-STOP");
  }

  /** SIGCONT after {@link #pause}. */
  synchronized void resume() throws IOException, InterruptedException {
    signal("-CONT");
  }

  private void signal(String signal) throws IOException, InterruptedException {
    if (process != null && process.isAlive()) {
      Process kill = new ProcessBuilder("kill", signal, String.valueOf(process.pid())).inheritIO().start();
      if (kill.waitFor() != 0) {
        throw new IllegalStateException("kill " + signal + " " + process.pid() + " failed");
      }
    }
  }

  /** Starts the replica again if it ended without being told to; true if it did. */
  synchronized boolean restartIfExited() {
    if (process == null || process.isAlive() || stoppedOnPurpose) {
      return false;
    }
    System.out.println("[faults] operator " + identity + " exited on its own (code " + process.exitValue()
        + "); restarting it, as the kubelet would");
    unplannedRestarts++;
    start();
    return true;
  }

  /** How often it ended on its own and was started again. */
  synchronized int unplannedRestarts() {
    return unplannedRestarts;
  }

  String log() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The time stamp of the first JSON log line after {@code since} whose message starts with {@code prefix}. */
  Optional<Instant> loggedAt(String prefix, Instant since) {
    for (String line : log().split("\n")) {
      if (!line.startsWith("{")) {
        continue;
      }
      try {
        JsonNode n = JSON.readTree(line);
        if (n.path("message").asText().startsWith(prefix)) {
          Instant at = java.time.OffsetDateTime.parse(n.path("@timestamp").asText()).toInstant();
          if (!at.isBefore(since)) {
            return Optional.of(at);
          }
        }
      } catch (IOException | java.time.format.DateTimeParseException e) {
        // not one of the operator's JSON lines (the JVM's own output)
      }
    }
    return Optional.empty();
  }

  @Override
  public synchronized void close() {
    if (process != null && process.isAlive()) {
      stoppedOnPurpose = true;
      try {
        Processes.kill(process);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
