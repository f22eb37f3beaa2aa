package io.safedefaults.microapp.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A command run to its end, the one way the harness runs a tool and reads what it said (kubectl, the
 * operator's CLI, skopeo, umoci, setpriv): stdin fed and closed, stdout and stderr drained at once on
 * threads of their own (a command that fills a pipe nobody reads stalls; not the common pool, which
 * on 2 cores has a single worker), and a command past its time killed rather than left running.
 * What a timeout means is the caller's to say. Also the one way to stop a process the harness
 * started and keeps running (an operator replica, chromedriver).
 */
final class Processes {
  private Processes() {}

  /** How a command ended: its exit code and everything it wrote (UTF-8). */
  record Finished(int code, String out, String err) {}

  /**
   * Starts {@code pb}'s command, feeds it {@code stdin} (may be null) and waits up to
   * {@code timeout}; empty if it did not finish by then (it is killed with SIGKILL).
   */
  static Optional<Finished> run(ProcessBuilder pb, String stdin, Duration timeout)
      throws IOException, InterruptedException {
    Process p = pb.start();
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<String> err = drain(p.getErrorStream());
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      return Optional.empty();
    }
    return Optional.of(new Finished(p.exitValue(), out.join(), err.join()));
  }

  /**
   * Stops a process and every process it started (chromedriver's browser, a script's children):
   * SIGTERM to all of them, so each runs its own shutdown; whatever is left after {@code grace}
   * gets SIGKILL. True if {@code p} itself ended within {@code grace}.
   */
  static boolean stop(Process p, Duration grace) throws InterruptedException {
    List<ProcessHandle> started = p.descendants().toList(); // before p ends: its orphans are no longer its descendants
    Instant deadline = Instant.now().plus(grace);
    p.destroy();
    started.forEach(ProcessHandle::destroy);
    boolean ended = p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS);
    for (ProcessHandle h : started) {
      try {
        h.onExit().get(Math.max(0, Duration.between(Instant.now(), deadline).toMillis()), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        // still running: killed below
      }
    }
    if (!ended) {
      kill(p);
    }
    started.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    return ended;
  }

  /** SIGKILL (a crash: nothing runs on the way out); waits up to 10 s for the process to be gone. */
  static void kill(Process p) throws InterruptedException {
    p.destroyForcibly();
    p.waitFor(10, TimeUnit.SECONDS);
  }

  private static CompletableFuture<String> drain(InputStream in) {
    CompletableFuture<String> result = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try (in) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        in.transferTo(buf);
        result.complete(buf.toString(StandardCharsets.UTF_8));
      } catch (IOException e) {
        result.complete("");
      }
    }, "process-drain");
    t.setDaemon(true);
    t.start();
    return result;
  }
}
