package io.safedefaults.microapp.e2e;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A running container's main process as the node's kernel sees it ({@code /proc/<pid>}): its
 * credentials, capabilities, seccomp mode and no_new_privs, its environment and the files in its
 * own mount namespace ({@code /proc/<pid>/root}). For containers whose image has nothing to run a
 * check with (the sidecar's is a Java runtime only), this is "from inside the container", not from
 * the manifest. The pid comes from the node's containerd ({@code ctr task ls}), so only a node this
 * run started (or {@code E2E_STACK}) can be inspected.
 */
public record ContainerProcess(String container, long pid) {

  static ContainerProcess of(ControlPlane cp, Pod pod, String container) {
    ContainerStatus status = pod.getStatus().getContainerStatuses().stream().filter(s -> container.equals(s.getName()))
        .findFirst().orElseThrow(() -> new AssertionError("pod " + pod.getMetadata().getName() + " has no container " + container));
    String id = status.getContainerID();
    if (id == null || !id.startsWith("containerd://")) {
      throw new AssertionError("container " + container + " is not running under containerd: " + id);
    }
    String cid = id.substring("containerd://".length());
    String socket = cp.containerdAddress();
    try {
      Processes.Finished ls = Processes.run(new ProcessBuilder("ctr", "--address", socket, "--namespace", "k8s.io",
          "task", "ls").redirectErrorStream(true), null, Duration.ofSeconds(30)).orElse(null);
      if (ls == null || ls.code() != 0) {
        throw new AssertionError("ctr task ls failed: " + (ls == null ? "not finished within 30 s" : ls.out()));
      }
      String out = ls.out();
      for (String line : out.lines().toList()) {
        String[] f = line.trim().split("\\s+");
        if (f.length >= 3 && f[0].equals(cid)) {
          return new ContainerProcess(container, Long.parseLong(f[1]));
        }
      }
      throw new AssertionError("containerd has no task " + cid + " (" + container + "): " + out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run ctr", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** {@code /proc/<pid>/status} as key → value (Uid, Gid, Groups, CapEff, CapBnd, NoNewPrivs, Seccomp, ...). */
  public Map<String, String> status() {
    Map<String, String> m = new LinkedHashMap<>();
    for (String line : read("status").split("\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        m.put(line.substring(0, colon), line.substring(colon + 1).trim());
      }
    }
    return m;
  }

  /** The process's environment as the kernel holds it. */
  public Map<String, String> environment() {
    Map<String, String> env = new LinkedHashMap<>();
    for (String kv : read("environ").split("\0")) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        env.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    return env;
  }

  /** Lines of {@code /proc/<pid>/mountinfo}: the container's own mounts. */
  public List<String> mounts() {
    return read("mountinfo").lines().toList();
  }

  /** A path inside the container's root filesystem and mounts, seen from the node. */
  public Path path(String inside) {
    return Path.of("/proc", Long.toString(pid), "root", inside.startsWith("/") ? inside.substring(1) : inside);
  }

  private String read(String file) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(pid), file), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/" + pid + "/" + file + " (" + container + ")", e);
    }
  }
}
