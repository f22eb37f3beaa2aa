package io.safedefaults.microapp.audit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.safedefaults.microapp.api.MicroAppStatus;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Our own Prometheus metrics beside JOSDK's: how many apps have which checklist score and whether
 * they are Ready, and reconcile errors. Apps are counted, not labelled by name, to keep the
 * series count independent of the number of apps.
 */
public final class OperatorMetrics {
  private final MeterRegistry registry;
  private final Map<String, String> scoreByApp = new ConcurrentHashMap<>();
  private final Map<String, Boolean> registered = new ConcurrentHashMap<>();
  private final Map<String, List<String>> failingByApp = new ConcurrentHashMap<>();
  private final Map<String, Boolean> purgeFailedByApp = new ConcurrentHashMap<>();
  /** The apps that exist now (namespace/name), read at every scrape; null until the first reconcile. */
  private volatile Supplier<Set<String>> live;

  public OperatorMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Records the app's current score ("7/7") and readiness, the checklist items it fails and whether
   * its last purge failed: what the chart's default alerts (PrometheusRules) watch.
   */
  public void observe(String namespace, String name, MicroAppStatus status, boolean ready) {
    String key = namespace + "/" + name;
    String score = status.getChecklist().getSummary() + "|" + ready;
    scoreByApp.put(key, score);
    registered.computeIfAbsent(score, s -> {
      String[] parts = s.split("\\|");
      Gauge.builder("microapp_apps", scoreByApp, m -> count(m, s))
          .description("MicroApps by checklist score and readiness")
          .tags(Tags.of("checklist", parts[0], "ready", parts[1]))
          .register(registry);
      return true;
    });
    List<String> failing = status.getChecklist().getFailing() == null ? List.of()
        : List.copyOf(status.getChecklist().getFailing());
    failingByApp.put(key, failing);
    for (String item : failing) {
      registered.computeIfAbsent("failing|" + item, k -> {
        // one series per checklist item (a fixed set), never per app
        Gauge.builder("microapp_failing_defaults", failingByApp, m -> countFailing(m, item))
            .description("MicroApps failing a checklist item (a default), by item")
            .tag("item", item)
            .register(registry);
        return true;
      });
    }
    var retention = status.getRetention();
    purgeFailedByApp.put(key, retention != null && "Failed".equals(retention.lastJobOutcome()));
    registered.computeIfAbsent("purge-failing", k -> {
      Gauge.builder("microapp_purge_failing", purgeFailedByApp, m -> countPurgeFailing(m))
          .description("MicroApps whose most recent purge Job failed (data past its retention is kept)")
          .register(registry);
      return true;
    });
  }

  private double countFailing(Map<String, List<String>> failing, String item) {
    Set<String> existing = existing();
    return failing.entrySet().stream()
        .filter(e -> e.getValue().contains(item) && (existing == null || existing.contains(e.getKey()))).count();
  }

  private double countPurgeFailing(Map<String, Boolean> failed) {
    Set<String> existing = existing();
    return failed.entrySet().stream()
        .filter(e -> e.getValue() && (existing == null || existing.contains(e.getKey()))).count();
  }

  private Set<String> existing() {
    Supplier<Set<String>> source = live;
    return source == null ? null : source.get();
  }

  /**
   * Where the apps that exist come from (the controller's cache of MicroApps): a deleted app leaves
   * the counts at the next scrape, not when some other app is reconciled next (up to a resync later).
   */
  public void liveApps(Supplier<Set<String>> apps) {
    this.live = apps;
  }

  private double count(Map<String, String> scores, String score) {
    Supplier<Set<String>> source = live;
    if (source == null) {
      return scores.values().stream().filter(score::equals).count();
    }
    Set<String> existing = source.get();
    return scores.entrySet().stream().filter(e -> score.equals(e.getValue()) && existing.contains(e.getKey())).count();
  }

  /** Drops apps that no longer exist (keys are namespace/name). */
  public void retain(Set<String> existing) {
    scoreByApp.keySet().retainAll(existing);
    failingByApp.keySet().retainAll(existing);
    purgeFailedByApp.keySet().retainAll(existing);
  }

  /**
   * 1 while the operator holds the cluster's sealing keys, 0 while their Secret is missing or
   * unreadable and no sealed value can be opened: alert on {@code microapp_sealing_keys_available == 0}.
   */
  public void sealingKeysAvailable(BooleanSupplier available) {
    Gauge.builder("microapp_sealing_keys_available", () -> available.getAsBoolean() ? 1 : 0)
        .description("Whether the operator holds the cluster's sealing keys (0: their Secret is missing)")
        .register(registry);
  }

  public void reconcileError(String reason) {
    Counter.builder("microapp_reconcile_errors_total")
        .description("Reconciles that could not apply a child resource")
        .tag("reason", reason)
        .register(registry)
        .increment();
  }
}
