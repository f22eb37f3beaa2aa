package io.safedefaults.microapp.audit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.safedefaults.microapp.api.MicroAppStatus;
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
  /** The apps that exist now (namespace/name), read at every scrape; null until the first reconcile. */
  private volatile Supplier<Set<String>> live;

  public OperatorMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Records the app's current score ("7/7") and readiness. */
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
