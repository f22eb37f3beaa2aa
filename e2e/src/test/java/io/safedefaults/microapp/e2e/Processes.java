package io.safedefaults.microapp.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A command run to its end, the one way the harness runs a tool and reads what it said (kubectl, the
 * operator's CLI, skopeo, umoci, setpriv): stdin fed and closed, stdout and stderr drained at once on
 * threads of their own (a command that fills a pipe nobody reads stalls; not the common pool, which
 * on 2 cores has a single worker), and a command past its time killed rather than left running.
 * What a timeout means is the caller's to say.
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
