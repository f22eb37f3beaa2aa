package io.safedefaults.microapp.e2e;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Counts writes the API server handled, from its own {@code apiserver_request_total} counter
 * ({@code GET /metrics}). Cluster-wide: the test must do nothing else while it measures, and on a
 * shared cluster other clients are counted too.
 *
 * <p>Verb values seen on kube-apiserver 1.34: GET, LIST, WATCH (reads), POST, PUT, PATCH, DELETE,
 * DELETECOLLECTION and APPLY (server-side apply is its own verb, not PATCH). The series also carry
 * {@code resource}, {@code subresource} (e.g. {@code status}), {@code code} and {@code dry_run}.
 */
public final class ApiWriteCounter {

  public static final Set<String> WRITE_VERBS = Set.of("POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY");

  /** What the operator manages for a MicroApp (the MicroApp itself: its status and finalizers). */
  public static final Set<String> OPERATOR_RESOURCES = Set.of(
      "deployments", "services", "serviceaccounts", "ingresses", "networkpolicies", "configmaps", "secrets",
      "cronjobs", "microapps");

  private static final Pattern SAMPLE = Pattern.compile("^apiserver_request_total\\{([^}]*)}\\s+(\\S+)");
  private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private final KubernetesClient client;

  public ApiWriteCounter(KubernetesClient client) {
    this.client = client;
  }

  /** Write counts per "VERB resource[/subresource]" at this moment. */
  public Snapshot snapshot() {
    String metrics = client.raw("/metrics");
    if (metrics == null) {
      throw new IllegalStateException("GET /metrics returned nothing");
    }
    return new Snapshot(parse(metrics));
  }

  static Map<String, Double> parse(String metrics) {
    Map<String, Double> counts = new TreeMap<>();
    for (String line : metrics.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!m.find()) {
        continue;
      }
      Map<String, String> labels = new HashMap<>();
      Matcher l = LABEL.matcher(m.group(1));
      while (l.find()) {
        labels.put(l.group(1), l.group(2));
      }
      String verb = labels.getOrDefault("verb", "");
      if (!WRITE_VERBS.contains(verb)) {
        continue;
      }
      String resource = labels.getOrDefault("resource", "");
      String sub = labels.getOrDefault("subresource", "");
      String key = verb + " " + resource + (sub.isEmpty() ? "" : "/" + sub);
      counts.merge(key, Double.parseDouble(m.group(2)), Double::sum);
    }
    return counts;
  }

  /** Cumulative write counters keyed "VERB resource[/subresource]". */
  public record Snapshot(Map<String, Double> counts) {

    /**
     * What the operator could have written since {@code before}: writes to the objects it manages
     * and to the MicroApp's status. Subresources of its children ({@code deployments/status},
     * {@code serviceaccounts/token}, ...) are written by their controllers and the kubelet, e.g.
     * when the operator's own pod restarts on the node, never by the operator.
     */
    public Map<String, Long> operatorWritesSince(Snapshot before) {
      Map<String, Long> writes = new TreeMap<>(since(before, OPERATOR_RESOURCES));
      writes.keySet().removeIf(key -> key.contains("/") && !key.endsWith(" microapps/status"));
      return writes;
    }

    /** Per-key increase since {@code before}, only for keys whose resource is in {@code resources} (empty: all). */
    public Map<String, Long> since(Snapshot before, Collection<String> resources) {
      Map<String, Long> diff = new TreeMap<>();
      counts.forEach((key, value) -> {
        long d = Math.round(value - before.counts.getOrDefault(key, 0.0));
        String resource = key.substring(key.indexOf(' ') + 1).split("/")[0];
        if (d != 0 && (resources.isEmpty() || resources.contains(resource))) {
          diff.put(key, d);
        }
      });
      return diff;
    }

    public long total(Collection<String> resources) {
      long sum = 0;
      for (var e : counts.entrySet()) {
        String resource = e.getKey().substring(e.getKey().indexOf(' ') + 1).split("/")[0];
        if (resources.isEmpty() || resources.contains(resource)) {
          sum += Math.round(e.getValue());
        }
      }
      return sum;
    }
  }
}
