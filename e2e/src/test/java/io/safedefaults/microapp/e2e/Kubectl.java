package io.safedefaults.microapp.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The one way the tests run kubectl: the control plane's own binary, pointed at the test
 * cluster with {@code --kubeconfig}, stdout/stderr captured and returned, never printed (a
 * {@code get secret} must not end up in a CI log). Only the argument list is ever shown.
 */
public final class Kubectl {

  /** Outcome of one kubectl call. */
  public record Result(List<String> args, int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }

    /** Fails with the command, exit code and stderr unless kubectl exited 0. */
    public Result orFail() {
      if (!ok()) {
        throw new AssertionError("kubectl " + String.join(" ", args) + " exited " + exitCode + ": " + stderr.strip());
      }
      return this;
    }

    @Override
    public String toString() {
      return "kubectl " + String.join(" ", args) + " -> exit " + exitCode + "\nstderr: " + stderr.strip();
    }
  }

  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(90);

  private final Path binary;
  private final Path kubeconfig; // null: use $KUBECONFIG / ~/.kube/config as kubectl would

  public Kubectl(Path binary, Path kubeconfig) {
    this.binary = binary;
    this.kubeconfig = kubeconfig;
  }

  public Path binary() {
    return binary;
  }

  public Result run(String... args) {
    return run(null, DEFAULT_TIMEOUT, args);
  }

  /** Runs kubectl with {@code stdin} (may be null) fed to it, e.g. for {@code apply -f -}. */
  public Result runWithInput(String stdin, String... args) {
    return run(stdin, DEFAULT_TIMEOUT, args);
  }

  public Result run(String stdin, Duration timeout, String... args) {
    try {
      Processes.Finished f = Processes.run(builder(args), stdin, timeout).orElseThrow(() ->
          new AssertionError("kubectl " + String.join(" ", args) + " did not finish within " + timeout));
      return new Result(List.of(args), f.code(), f.out(), f.err());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + binary, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running kubectl", e);
    }
  }

  /**
   * Starts a long-running kubectl (e.g. {@code logs -f}) with stdout appended to {@code output} and
   * stderr to {@code output}{@code .kubectl-stderr}; the caller stops it.
   */
  public Process start(Path output, String... args) {
    // kubectl's own complaints (a container gone while its log is followed) go beside the output,
    // never into it: the output is what the followed process wrote
    ProcessBuilder pb = builder(args)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()))
        .redirectError(ProcessBuilder.Redirect.appendTo(output.resolveSibling(output.getFileName() + ".kubectl-stderr").toFile()));
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + binary, e);
    }
  }

  /** kubectl with {@code args} against this cluster's kubeconfig alone ({@code $KUBECONFIG} not inherited). */
  private ProcessBuilder builder(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.toString());
    if (kubeconfig != null) {
      cmd.add("--kubeconfig=" + kubeconfig);
    }
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    if (kubeconfig != null) {
      pb.environment().remove("KUBECONFIG");
    }
    return pb;
  }
}
