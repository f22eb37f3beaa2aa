package io.safedefaults.microapp.e2e;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * The operator as a platform team runs it: installed with the Helm chart (by {@code e2e/stack.sh}),
 * a pod from its own image, in-cluster config, leader election, the chart's RBAC. Every operator
 * pod's log is followed into {@code target/operator-logs/<pod>.log} from the moment it appears, so
 * the log of a pod a test deleted is still there to read.
 */
public final class InClusterOperator implements AutoCloseable {

  public static final String NAMESPACE = "microapp-system";
  public static final String RELEASE = "microapp-operator";
  static final String SELECTOR = "app.kubernetes.io/name=microapp-operator,app.kubernetes.io/instance=" + RELEASE;

  private final KubernetesClient client;
  private final Kubectl kubectl;
  private final Path logDir;
  private final Map<String, Process> followed = new ConcurrentHashMap<>();
  private final Thread follower;
  private volatile boolean closed;

  InClusterOperator(KubernetesClient client, Kubectl kubectl, Path targetDir) {
    this.client = client;
    this.kubectl = kubectl;
    this.logDir = targetDir.resolve("operator-logs");
    try {
      if (Files.isDirectory(logDir)) {
        try (var old = Files.list(logDir)) {
          for (Path p : old.toList()) {
            Files.delete(p); // an earlier run's logs would be read as this run's
          }
        }
      }
      Files.createDirectories(logDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    follower = new Thread(this::followNewPods, "operator-log-follower");
    follower.setDaemon(true);
    follower.start();
    awaitReady(Duration.ofSeconds(120));
  }

  /** The operator's pods right now (any phase). */
  public List<Pod> pods() {
    return client.pods().inNamespace(NAMESPACE).withLabelSelector(SELECTOR).list().getItems();
  }

  /** True while the Deployment has a ready replica and no operator container has restarted. */
  public boolean isRunning() {
    Deployment d = client.apps().deployments().inNamespace(NAMESPACE).withName(RELEASE).get();
    boolean ready = d != null && d.getStatus() != null && d.getStatus().getReadyReplicas() != null
        && d.getStatus().getReadyReplicas() >= 1;
    return ready && pods().stream().flatMap(p -> p.getStatus().getContainerStatuses().stream())
        .allMatch(cs -> cs.getRestartCount() == 0);
  }

  /** Deletes the operator's pods (SIGTERM, as a rollout or a node drain would) and waits for a new ready one. */
  public void restart() {
    Set<String> old = pods().stream().map(p -> p.getMetadata().getName()).collect(Collectors.toSet());
    kubectl.run(null, Duration.ofSeconds(90), "-n", NAMESPACE, "delete", "pod", "-l", SELECTOR, "--wait=true").orFail();
    await("a new operator pod ready").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1))
        .until(() -> readyPod().filter(p -> !old.contains(p.getMetadata().getName())).isPresent());
  }

  /** Waits until a running operator pod holds the leader Lease (it names the holder after its pod). */
  public String awaitLeader(Duration timeout) {
    String[] holder = new String[1];
    await("an operator pod holds the Lease " + RELEASE).atMost(timeout).pollInterval(Duration.ofSeconds(1)).until(() -> {
      var lease = client.leases().inNamespace(NAMESPACE).withName(RELEASE).get();
      holder[0] = lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
      return holder[0] != null && readyPod().map(p -> p.getMetadata().getName().equals(holder[0])).orElse(false);
    });
    return holder[0];
  }

  void awaitReady(Duration timeout) {
    await("the operator pod ready").atMost(timeout).pollInterval(Duration.ofSeconds(1)).until(() -> readyPod().isPresent());
  }

  java.util.Optional<Pod> readyPod() {
    return pods().stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .filter(p -> p.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())))
        .findFirst();
  }

  /** {@code GET /metrics} of the ready operator pod, straight to its pod IP (the node routes pod IPs). */
  public String metrics() throws IOException, InterruptedException {
    Pod pod = readyPod().orElseThrow(() -> new AssertionError("no ready operator pod"));
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://" + pod.getStatus().getPodIP() + ":8080/metrics")).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("GET /metrics of " + pod.getMetadata().getName() + ": " + r.statusCode());
    }
    return r.body();
  }

  /** Everything every operator pod of this run has logged so far, pod by pod. */
  public String log() {
    StringBuilder all = new StringBuilder();
    for (Path p : logFiles()) {
      try {
        all.append(Files.readString(p, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return all.toString();
  }

  public List<Path> logFiles() {
    try (var s = Files.list(logDir)) {
      return s.filter(p -> p.toString().endsWith(".log")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String logTail(int lines) {
    List<String> all = log().lines().toList();
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  private void followNewPods() {
    while (!closed) {
      try {
        for (Pod p : pods()) {
          String name = p.getMetadata().getName();
          boolean started = p.getStatus().getContainerStatuses().stream()
              .anyMatch(cs -> cs.getState() != null && (cs.getState().getRunning() != null || cs.getState().getTerminated() != null));
          if (started && !followed.containsKey(name)) {
            List<String> args = new ArrayList<>(List.of("-n", NAMESPACE, "logs", "-f", "-c", "operator", name));
            followed.put(name, kubectl.start(logDir.resolve(name + ".log"), args.toArray(String[]::new)));
          }
        }
      } catch (RuntimeException e) {
        // the API may be briefly unreachable (a test restarting things); try again
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    follower.interrupt();
    followed.values().forEach(Process::destroy);
  }
}
