package io.safedefaults.microapp.sidecar.audit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Prometheus metrics served on the admin port only (checklist 9): requests by outcome, auth
 * failures by reason, rate-limited requests by limit, upstream latency. Labels are small fixed
 * sets; never users or paths, which would explode the series count and leak who did what.
 */
public final class SidecarMetrics {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
  private final Timer upstream;

  public SidecarMetrics() {
    upstream = Timer.builder("sidecar_upstream_latency")
        .description("Time from forwarding a request to the app until its response headers arrived")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry);
  }

  public void request(String outcome) {
    counter("sidecar_requests", "outcome", outcome, "Requests by outcome").increment();
  }

  public void authFailure(String reason) {
    counter("sidecar_auth_failures", "reason", reason, "Failed or refused authentications by reason").increment();
  }

  public void rateLimited(String limit) {
    counter("sidecar_rate_limited", "limit", limit.startsWith("path:") ? "path" : limit,
        "Requests refused by a rate limit").increment();
  }

  /**
   * An export, a delete or an admin-path request let through (the audited ones), for the chart's
   * alert on such activity above normal.
   *
   * @param kind export, delete or admin
   */
  public void adminAction(String kind) {
    counter("sidecar_admin_actions", "kind", kind, "Exports, deletes and admin-path requests let through").increment();
  }

  /** @param use what fell back to this replica's memory: rate_limit or session_revocation */
  public void redisFallback(String use) {
    counter("sidecar_redis_fallbacks", "use", use, "Checks answered from this replica's memory because Redis failed")
        .increment();
  }

  public void upstreamLatency(long nanos) {
    upstream.record(Duration.ofNanos(nanos));
  }

  public String scrape() {
    return registry.scrape();
  }

  private Counter counter(String name, String tag, String value, String description) {
    return counters.computeIfAbsent(name + "|" + value,
        k -> Counter.builder(name).description(description).tag(tag, value).register(registry));
  }
}
