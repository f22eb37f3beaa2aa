package io.safedefaults.microapp.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The operator jar's CLI ({@code seal}, {@code keys}, {@code render}) as a separate process, the way
 * a person runs it: the test cluster's kubeconfig, stdin fed, output captured (never printed: a
 * sealed value's plaintext goes in, and is checked for in the output by the caller).
 */
final class OperatorCli {
  private OperatorCli() {}

  record Result(int code, String out, String err) {
    /** The output, or a failed assertion naming the command's error. */
    String orFail() {
      if (code != 0) {
        throw new AssertionError("operator CLI exited " + code + ": " + err.strip());
      }
      return out;
    }
  }

  /** Runs {@code java -jar <jar> args...} with {@code KUBECONFIG=kubeconfig} plus {@code env}; stdin may be null. */
  static Result run(Path jar, Path kubeconfig, String stdin, Map<String, String> env, String... args) {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        // a short-lived CLI: the quick JIT tier and the serial collector start it fastest
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", jar.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    if (kubeconfig != null) { // null: an existing cluster's KUBECONFIG, inherited
      pb.environment().put("KUBECONFIG", kubeconfig.toString());
    }
    pb.environment().putAll(env);
    try {
      // both streams drained at once: a render of many apps fills a pipe's buffer
      Processes.Finished f = Processes.run(pb, stdin, Duration.ofSeconds(60))
          .orElseThrow(() -> new IllegalStateException("operator CLI did not finish: " + args[0]));
      return new Result(f.code(), f.out(), f.err());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running the operator CLI", e);
    }
  }
}
