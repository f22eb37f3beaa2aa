package io.safedefaults.microapp.policy;

import java.util.Locale;

/**
 * Gateway mode's edge rate limit adapter (--gateway-edge-limits): the Gateway API has no rate limit
 * of its own, so per-IP limits at the edge need the implementation's policy resource. Declared by
 * the platform team, cluster-wide, because it names what is installed in the cluster.
 */
public enum EdgeLimits {
  /** No edge limit: the sidecar's limits alone apply (RateLimitCheck says so). */
  NONE,
  /** Envoy Gateway: a BackendTrafficPolicy per app with a local per-client-IP limit on its HTTPS route. */
  ENVOY_GATEWAY;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  public static EdgeLimits parse(String flag, String value) {
    String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "", "none" -> NONE;
      case "envoy-gateway" -> ENVOY_GATEWAY;
      default -> throw new IllegalArgumentException(flag + ": '" + value + "' is not one of none, envoy-gateway");
    };
  }
}
