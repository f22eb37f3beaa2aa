package io.safedefaults.microapp.audit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.safedefaults.microapp.api.MicroAppStatus;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Our own Prometheus metrics beside JOSDK's: how many apps have which checklist score and whether
 * they are Ready, and reconcile errors. Apps are counted, not labelled by name, to keep the
 * series count independent of the number of apps.
 */
public final class OperatorMetrics {
  private final MeterRegistry registry;
  private final Map<String, String> scoreByApp = new ConcurrentHashMap<>();
  private final Map<String, Boolean> registered = new ConcurrentHashMap<>();

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
      Gauge.builder("microapp_apps", scoreByApp, m -> m.values().stream().filter(s::equals).count())
          .description("MicroApps by checklist score and readiness")
          .tags(Tags.of("checklist", parts[0], "ready", parts[1]))
          .register(registry);
      return true;
    });
  }

  /** Drops apps that no longer exist (keys are namespace/name). */
  public void retain(java.util.Set<String> existing) {
    scoreByApp.keySet().retainAll(existing);
  }

  public void reconcileError(String reason) {
    Counter.builder("microapp_reconcile_errors_total")
        .description("Reconciles that could not apply a child resource")
        .tag("reason", reason)
        .register(registry)
        .increment();
  }
}
