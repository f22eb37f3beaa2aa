package io.safedefaults.microapp.ratelimit;

import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.IngressFlavor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-client-IP limits at the edge (checklist 4), written as the ingress controller's own typed
 * annotations from validated integers, never as a configuration snippet.
 *
 * <p>ingress-nginx: {@code limit-rpm} per minute and {@code limit-rps} per second with a burst
 * multiplier of 1, so the burst is exactly the configured per-second figure. Its counters are per
 * controller replica and it answers 503 unless the controller's ConfigMap sets
 * {@code limit-req-status-code: "429"} (README, "Ingress controllers").
 *
 * <p>Traefik: limits live in a Middleware object, not in annotations; the operator only routes
 * the app over the TLS entrypoint and documents the Middleware to attach.
 */
public final class EdgeRateLimit {
  public static final String NGINX = "nginx.ingress.kubernetes.io/";

  private EdgeRateLimit() {}

  public static Map<String, String> annotations(AppPlan plan, IngressFlavor flavor) {
    Map<String, String> a = new LinkedHashMap<>();
    if (flavor == IngressFlavor.NGINX) {
      a.put(NGINX + "limit-rpm", Integer.toString(plan.limits().perIpPerMinute()));
      a.put(NGINX + "limit-rps", Integer.toString(plan.limits().perIpBurstPerSecond()));
      a.put(NGINX + "limit-burst-multiplier", "1");
    }
    return a;
  }

  /** Whether an observed Ingress carries the limits of the plan. */
  public static boolean present(Map<String, String> observed, AppPlan plan, IngressFlavor flavor) {
    Map<String, String> want = annotations(plan, flavor);
    return observed != null && want.entrySet().stream()
        .allMatch(e -> e.getValue().equals(observed.get(e.getKey())));
  }
}
