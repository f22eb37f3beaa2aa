package io.safedefaults.microapp.ratelimit;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Exposure;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Gateway mode's per-client-IP limit at the edge with Envoy Gateway (--gateway-edge-limits
 * envoy-gateway): a BackendTrafficPolicy (gateway.envoyproxy.io/v1alpha1) on the app's HTTPS route
 * with a local rate limit whose one rule selects every source address distinctly (one bucket per
 * client IP, IPv4 and IPv6) at the plan's per-IP requests per minute. Built from validated integers
 * and the route's name only; nothing of the MicroApp is copied into it as text.
 *
 * <p>Local limits count per Envoy replica (like ingress-nginx's per controller replica). {@code type:
 * Local} is deprecated since Envoy Gateway 1.9 in favour of {@code local} alone, but releases before
 * it require it, so both are written (checked against the CRD of ENVOY_GATEWAY_VERSION).
 */
public final class EnvoyGatewayPolicy {
  public static final String GROUP = "gateway.envoyproxy.io";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = GROUP + "/" + VERSION;
  public static final String KIND = "BackendTrafficPolicy";
  public static final String PLURAL = "backendtrafficpolicies";
  /** Every IPv4 and every IPv6 client, each in its own bucket (sourceCIDR type Distinct). */
  static final List<String> ALL_CLIENTS = List.of("0.0.0.0/0", "::/0");
  /** A condition reason as Gateway API and Envoy Gateway write them (CamelCase); anything else is not shown. */
  private static final Pattern REASON = Pattern.compile("^[A-Za-z][A-Za-z0-9]{0,63}$");

  private EnvoyGatewayPolicy() {}

  /** The app's policy: targets its HTTPS HTTPRoute, limits each client IP to the plan's figure per minute. */
  public static GenericKubernetesResource desired(MicroApp app, AppPlan plan) {
    return new GenericKubernetesResourceBuilder()
        .withApiVersion(API_VERSION).withKind(KIND)
        .withMetadata(Names.metadata(app, Names.edgePolicy(app)))
        .withAdditionalProperties(ordered("spec", spec(Names.httpsRoute(app), plan)))
        .build();
  }

  private static Map<String, Object> spec(String route, AppPlan plan) {
    return ordered("targetRefs", List.of(ordered("group", "gateway.networking.k8s.io", "kind", "HTTPRoute", "name", route)),
        "rateLimit", ordered("type", "Local", "local", ordered("rules", rules(plan))));
  }

  /** A map in the order given (Map.of iterates in a per-JVM order: render output must be stable). */
  private static Map<String, Object> ordered(Object... keysAndValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return m;
  }

  /** Whether an observed policy targets the plan's app's HTTPS route with the plan's per-IP limit. */
  public static boolean present(GenericKubernetesResource observed, AppPlan plan) {
    Map<String, Object> want = spec(plan.name() + Names.HTTPS_ROUTE_SUFFIX, plan);
    return observed != null && spec(observed).isPresent()
        && Objects.equals(normal(spec(observed).get().get("targetRefs")), normal(want.get("targetRefs")))
        && Objects.equals(normal(spec(observed).get().get("rateLimit")), normal(want.get("rateLimit")));
  }

  /**
   * An Integer, not a Long: JOSDK's server-side-apply matcher compares the desired map (number types
   * kept) with the one read back (Integer), and a Long there would look like drift on every resync.
   */
  private static List<Object> rules(AppPlan plan) {
    List<Object> rules = new java.util.ArrayList<>();
    for (String cidr : ALL_CLIENTS) {
      rules.add(ordered(
          "clientSelectors", List.of(ordered("sourceCIDR", ordered("type", "Distinct", "value", cidr))),
          "limit", ordered("requests", plan.limits().perIpPerMinute(), "unit", "Minute")));
    }
    return rules;
  }

  /**
   * Whether an observed policy says what the desired one says: the same targetRefs and rateLimit
   * (numbers compared as numbers, the CRD's defaults ignored) and the desired labels. The dependent's
   * match: JOSDK's server-side-apply matcher counts the CRD's default {@code invert: false} inside
   * the atomic rules list as drift and would re-apply on every resync.
   */
  public static boolean matches(GenericKubernetesResource observed, GenericKubernetesResource desired) {
    if (observed == null || spec(observed).isEmpty()) {
      return false;
    }
    var o = spec(observed).get();
    var d = spec(desired).orElseThrow();
    var labels = Optional.ofNullable(observed.getMetadata().getLabels()).orElse(Map.of());
    return Objects.equals(normal(o.get("targetRefs")), normal(d.get("targetRefs")))
        && Objects.equals(normal(o.get("rateLimit")), normal(d.get("rateLimit")))
        && labels.entrySet().containsAll(desired.getMetadata().getLabels().entrySet());
  }

  /**
   * What Envoy Gateway said about the policy on the app's Gateway: the Accepted condition of the
   * status.ancestors entry for that Gateway, at the policy's generation; empty while there is none.
   */
  public static Optional<Verdict> accepted(GenericKubernetesResource observed, Exposure.Gateway gw) {
    if (observed == null || !(observed.getAdditionalProperties().get("status") instanceof Map<?, ?> status)
        || !(status.get("ancestors") instanceof List<?> ancestors)) {
      return Optional.empty();
    }
    Long generation = observed.getMetadata().getGeneration();
    for (Object a : ancestors) {
      if (a instanceof Map<?, ?> ancestor && ancestor.get("ancestorRef") instanceof Map<?, ?> ref
          && gw.name().equals(ref.get("name"))
          && gw.namespace().equals(Optional.ofNullable(ref.get("namespace")).orElse(observed.getMetadata().getNamespace()))
          && ancestor.get("conditions") instanceof List<?> conditions) {
        for (Object c : conditions) {
          if (c instanceof Map<?, ?> cond && "Accepted".equals(cond.get("type")) && current(cond, generation)) {
            String reason = cond.get("reason") instanceof String r && REASON.matcher(r).matches() ? r : "Unknown";
            return Optional.of(new Verdict("True".equals(cond.get("status")), reason));
          }
        }
      }
    }
    return Optional.empty();
  }

  /** Envoy Gateway's Accepted condition on the app's Gateway; reason only when it is a plain CamelCase word. */
  public record Verdict(boolean accepted, String reason) {}

  private static boolean current(Map<?, ?> cond, Long generation) {
    return generation == null || !(cond.get("observedGeneration") instanceof Number n) || n.longValue() >= generation;
  }

  @SuppressWarnings("unchecked")
  private static Optional<Map<String, Object>> spec(GenericKubernetesResource r) {
    return r.getAdditionalProperties().get("spec") instanceof Map<?, ?> m
        ? Optional.of((Map<String, Object>) m) : Optional.empty();
  }

  /**
   * Numbers as longs, so a policy read back from JSON (Integer) equals the one built (Long), and
   * without the CRD's server-side default {@code invert: false}, which means the same as its absence.
   */
  private static Object normal(Object o) {
    if (o instanceof Map<?, ?> m) {
      Map<Object, Object> out = new java.util.TreeMap<>();
      m.forEach((k, v) -> {
        if (!("invert".equals(k) && Boolean.FALSE.equals(v))) {
          out.put(k, normal(v));
        }
      });
      return out;
    }
    if (o instanceof List<?> l) {
      return l.stream().map(EnvoyGatewayPolicy::normal).toList();
    }
    return o instanceof Number n ? (Object) n.longValue() : o;
  }
}
