package io.safedefaults.microapp.cli;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.ImageScanSpec;
import io.safedefaults.microapp.auth.CaBundle;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Exposure;
import io.safedefaults.microapp.policy.OperatorConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import picocli.CommandLine.Option;

/**
 * The organisation's defaults and bounds. Every option also reads an environment variable (the
 * Helm chart sets those), so {@code run} and {@code render} resolve apps identically.
 */
public class PolicyOptions {
  @Option(names = "--sidecar-image", defaultValue = "${env:MICROAPP_SIDECAR_IMAGE:-ghcr.io/safedefaults/microapp-sidecar:0.1.0}",
      description = "Image of the auth sidecar injected into every app (env MICROAPP_SIDECAR_IMAGE).")
  String sidecarImage;

  @Option(names = "--default-issuer", defaultValue = "${env:MICROAPP_DEFAULT_ISSUER}",
      description = "OIDC issuer for apps that do not name one (env MICROAPP_DEFAULT_ISSUER).")
  String defaultIssuer;

  @Option(names = "--cluster-issuer", defaultValue = "${env:MICROAPP_CLUSTER_ISSUER}",
      description = "cert-manager ClusterIssuer for app certificates; without it no app gets an Ingress (env MICROAPP_CLUSTER_ISSUER).")
  String clusterIssuer;

  @Option(names = "--ingress-class", defaultValue = "${env:MICROAPP_INGRESS_CLASS:-nginx}",
      description = "IngressClass of app Ingresses (env MICROAPP_INGRESS_CLASS).")
  String ingressClass;

  @Option(names = "--ingress-flavor", defaultValue = "${env:MICROAPP_INGRESS_FLAVOR:-auto}",
      description = "Annotation dialect: auto, nginx or traefik (env MICROAPP_INGRESS_FLAVOR).")
  String ingressFlavor;

  @Option(names = "--ingress-namespaces", split = ",", defaultValue = "${env:MICROAPP_INGRESS_NAMESPACES:-ingress-nginx}",
      description = "Namespaces of the ingress controller, admitted by each app's NetworkPolicy (env MICROAPP_INGRESS_NAMESPACES).")
  List<String> ingressNamespaces;

  @Option(names = "--metrics-namespaces", split = ",", defaultValue = "${env:MICROAPP_METRICS_NAMESPACES}",
      description = "Namespaces whose Prometheus scrapes the sidecars' metrics: each app's NetworkPolicy admits the"
          + " sidecar's metrics port (4181) from them, nothing else; unset: none (env MICROAPP_METRICS_NAMESPACES).")
  List<String> metricsNamespaces;

  @Option(names = "--default-session-ttl", defaultValue = "${env:MICROAPP_DEFAULT_SESSION_TTL:-8h}",
      description = "Session length when an app sets none (env MICROAPP_DEFAULT_SESSION_TTL).")
  String defaultSessionTtl;

  @Option(names = "--max-session-ttl", defaultValue = "${env:MICROAPP_MAX_SESSION_TTL:-12h}",
      description = "Longest session without an override, at most 24h (env MICROAPP_MAX_SESSION_TTL).")
  String maxSessionTtl;

  @Option(names = "--default-limits", defaultValue = "${env:MICROAPP_DEFAULT_LIMITS:-100,10,60}",
      description = "Default requests/min per IP, burst/s per IP, requests/min per user (env MICROAPP_DEFAULT_LIMITS).")
  String defaultLimits;

  @Option(names = "--max-limits", defaultValue = "${env:MICROAPP_MAX_LIMITS:-1000,100,600}",
      description = "Highest limits without an override, same order (env MICROAPP_MAX_LIMITS).")
  String maxLimits;

  @Option(names = "--allowed-overrides", defaultValue = "${env:MICROAPP_ALLOWED_OVERRIDES:-visibility,retention}",
      description = "Defaults apps may relax with a justified override: comma list of visibility, mfa, sessionTTL, "
          + "rateLimit, networkPolicy, retention, imageScan, or 'none' (env MICROAPP_ALLOWED_OVERRIDES).")
  String allowedOverrides;

  @Option(names = "--trusted-proxy-cidrs", split = ",", defaultValue = "${env:MICROAPP_TRUSTED_PROXY_CIDRS}",
      description = "Pod CIDRs of the ingress controller, whose X-Forwarded-For the sidecar believes; without them"
          + " every request seems to come from the controller and per-IP limits count it as one client"
          + " (env MICROAPP_TRUSTED_PROXY_CIDRS).")
  List<String> trustedProxyCidrs;

  @Option(names = "--run-as-user", defaultValue = "${env:MICROAPP_RUN_AS_USER:-10001}",
      description = "Non-root uid the app pods run as (env MICROAPP_RUN_AS_USER).")
  long runAsUser;

  @Option(names = "--oidc-ca-file", defaultValue = "${env:MICROAPP_OIDC_CA_FILE}",
      description = "PEM bundle of the CAs that sign the OIDC provider's TLS certificates, for a provider behind a"
          + " private CA; every app's sidecar then trusts exactly these for its provider instead of the JVM's"
          + " default CAs. Read once at start (env MICROAPP_OIDC_CA_FILE).")
  String oidcCaFile;

  @Option(names = "--allowed-host-suffixes", split = ",", defaultValue = "${env:MICROAPP_ALLOWED_HOST_SUFFIXES}",
      description = "Host domains apps may use, e.g. apps.example.com (a host equals one or ends with '.' and one);"
          + " unset: any host. MicroAppPolicies may set their own per namespace (env MICROAPP_ALLOWED_HOST_SUFFIXES).")
  List<String> allowedHostSuffixes;

  @Option(names = "--allowed-issuers", split = ",", defaultValue = "${env:MICROAPP_ALLOWED_ISSUERS}",
      description = "OIDC issuers private and organization apps may sign in with (exact https URLs); unset: any"
          + " (env MICROAPP_ALLOWED_ISSUERS).")
  List<String> allowedIssuers;

  @Option(names = "--max-app-resources", defaultValue = "${env:MICROAPP_MAX_APP_RESOURCES:-4,8Gi}",
      description = "The most CPU and memory an app container may have, request and limit: cpu,memory"
          + " (env MICROAPP_MAX_APP_RESOURCES).")
  String maxAppResources;

  @Option(names = "--image-scan", defaultValue = "${env:MICROAPP_IMAGE_SCAN:-off}",
      description = "The vulnerability gate: off, audit (a missing or failing scan is reported) or enforce (no"
          + " Ingress until a scan of the app's image passes). Reads Trivy Operator's VulnerabilityReports."
          + " MicroAppPolicies may set their own (env MICROAPP_IMAGE_SCAN).")
  String imageScan;

  @Option(names = "--image-scan-fail-at", defaultValue = "${env:MICROAPP_IMAGE_SCAN_FAIL_AT:-critical}",
      description = "The lowest severity that fails a scan: critical, high, medium or low"
          + " (env MICROAPP_IMAGE_SCAN_FAIL_AT).")
  String imageScanFailAt;

  @Option(names = "--image-scan-include-unfixed", defaultValue = "${env:MICROAPP_IMAGE_SCAN_INCLUDE_UNFIXED:-false}",
      description = "Whether vulnerabilities without a fixed version fail a scan too (env"
          + " MICROAPP_IMAGE_SCAN_INCLUDE_UNFIXED).")
  boolean imageScanIncludeUnfixed;

  @Option(names = "--exposure", defaultValue = "${env:MICROAPP_EXPOSURE:-ingress}",
      description = "How apps with a host are reached: ingress (an Ingress per app) or gateway (HTTPRoutes on the"
          + " platform's Gateway, --gateway-*); MicroAppPolicies may choose per namespace (env MICROAPP_EXPOSURE).")
  String exposure;

  @Option(names = "--gateway-name", defaultValue = "${env:MICROAPP_GATEWAY_NAME}",
      description = "Name of the platform's Gateway the apps' HTTPRoutes attach to (env MICROAPP_GATEWAY_NAME).")
  String gatewayName;

  @Option(names = "--gateway-namespace", defaultValue = "${env:MICROAPP_GATEWAY_NAMESPACE}",
      description = "Namespace of that Gateway (env MICROAPP_GATEWAY_NAMESPACE).")
  String gatewayNamespace;

  @Option(names = "--gateway-https-listener", defaultValue = "${env:MICROAPP_GATEWAY_HTTPS_LISTENER:-https}",
      description = "sectionName of the Gateway's HTTPS listener the app routes attach to"
          + " (env MICROAPP_GATEWAY_HTTPS_LISTENER).")
  String gatewayHttpsListener;

  @Option(names = "--gateway-http-listener", defaultValue = "${env:MICROAPP_GATEWAY_HTTP_LISTENER:-http}",
      description = "sectionName of the Gateway's plain HTTP listener, which only redirects to HTTPS"
          + " (env MICROAPP_GATEWAY_HTTP_LISTENER).")
  String gatewayHttpListener;

  @Option(names = "--gateway-data-plane-namespaces", split = ",",
      defaultValue = "${env:MICROAPP_GATEWAY_DATA_PLANE_NAMESPACES}",
      description = "Namespaces where the Gateway's proxies run, admitted by each app's NetworkPolicy in gateway"
          + " mode; unset: the Gateway's namespace (env MICROAPP_GATEWAY_DATA_PLANE_NAMESPACES).")
  List<String> gatewayDataPlaneNamespaces;

  @Option(names = "--gateway-edge-limits", defaultValue = "${env:MICROAPP_GATEWAY_EDGE_LIMITS:-none}",
      description = "Per-IP rate limits at the edge in gateway mode: none (the sidecar's limits only) or"
          + " envoy-gateway (a BackendTrafficPolicy per app on its HTTPS route; needs Envoy Gateway's CRDs)"
          + " (env MICROAPP_GATEWAY_EDGE_LIMITS).")
  String gatewayEdgeLimits;

  /** The exposure the flags set: the cluster default a MicroAppPolicy may replace per namespace. */
  Exposure exposure() {
    if (Exposure.Kind.parse("--exposure", exposure) == Exposure.Kind.INGRESS) {
      return Exposure.ingress();
    }
    return Exposure.gateway("--", blank(gatewayName), blank(gatewayNamespace), blank(gatewayHttpsListener),
        blank(gatewayHttpListener), list(gatewayDataPlaneNamespaces) == null ? List.of() : list(gatewayDataPlaneNamespaces));
  }

  private static String blank(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  public OperatorConfig toConfig() {
    return OperatorConfig.builder()
        .sidecarImage(sidecarImage)
        .defaultIssuer(defaultIssuer)
        .clusterIssuer(clusterIssuer)
        .ingressClassName(ingressClass)
        .ingressFlavor(ingressFlavor)
        .ingressNamespaces(ingressNamespaces.stream().map(String::trim).filter(s -> !s.isEmpty()).toList())
        .metricsNamespaces(metricsNamespaces == null ? List.of()
            : metricsNamespaces.stream().map(String::trim).filter(s -> !s.isEmpty()).toList())
        .defaultSessionTtl(duration("--default-session-ttl", defaultSessionTtl))
        .maxSessionTtl(duration("--max-session-ttl", maxSessionTtl))
        .defaultLimits(limits("--default-limits", defaultLimits))
        .maxLimits(limits("--max-limits", maxLimits))
        .allowedOverrides(settings(allowedOverrides))
        .runAsUser(runAsUser)
        .trustedProxyCidrs(trustedProxyCidrs == null ? List.of()
            : trustedProxyCidrs.stream().map(String::trim).filter(s -> !s.isEmpty()).toList())
        .oidcCaBundle(oidcCaBundle(oidcCaFile, Instant.now()))
        .allowedHostSuffixes(list(allowedHostSuffixes))
        .allowedIssuers(list(allowedIssuers))
        .maxAppResources(quantities("--max-app-resources", maxAppResources))
        .imageScan(new OperatorConfig.ImageScanRule(
            choice("--image-scan", imageScan, ImageScanSpec.Mode.class),
            choice("--image-scan-fail-at", imageScanFailAt, ImageScanSpec.Severity.class), imageScanIncludeUnfixed))
        .exposure(exposure())
        .gatewayEdgeLimits(io.safedefaults.microapp.policy.EdgeLimits.parse("--gateway-edge-limits", gatewayEdgeLimits))
        .build();
  }

  /** One of an enum's lower-case names, or an error naming the flag and every choice. */
  static <E extends Enum<E>> E choice(String flag, String value, Class<E> type) {
    String v = value == null ? "" : value.trim().toUpperCase(java.util.Locale.ROOT);
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(v)) {
        return e;
      }
    }
    throw new IllegalArgumentException(flag + " '" + value + "' is not one of " + java.util.Arrays.stream(
        type.getEnumConstants()).map(e -> e.name().toLowerCase(java.util.Locale.ROOT)).toList());
  }

  /**
   * Reads and checks the bundle once, with the sidecar's own rules, so a bundle no sidecar would
   * accept stops the operator at start instead of every app's pods; the PEM is then written
   * canonically (certificates only), which is what the apps' ConfigMaps carry.
   */
  static String oidcCaBundle(String file, Instant now) {
    if (file == null || file.isBlank()) {
      return null;
    }
    try {
      return CaBundle.pem(CaBundle.read(Path.of(file.trim()), now));
    } catch (CaBundle.Invalid e) {
      throw new IllegalArgumentException("--oidc-ca-file " + file.trim() + " " + e.getMessage());
    } catch (java.nio.file.InvalidPathException e) {
      throw new IllegalArgumentException("--oidc-ca-file: '" + file + "' is not a file path");
    }
  }

  /** A comma list from a flag; nothing given: null (no restriction). */
  private static List<String> list(List<String> values) {
    List<String> out = values == null ? List.of()
        : values.stream().map(String::trim).filter(v -> !v.isEmpty()).toList();
    return out.isEmpty() ? null : out;
  }

  static OperatorConfig.Quantities quantities(String flag, String text) {
    String[] parts = text.split(",");
    if (parts.length != 2) {
      throw new IllegalArgumentException(flag + ": '" + text + "' must be cpu,memory such as 4,8Gi");
    }
    return new OperatorConfig.Quantities(parts[0].trim(), parts[1].trim());
  }

  static Duration duration(String flag, String text) {
    return AppPlan.parseTtl(text).orElseThrow(() ->
        new IllegalArgumentException(flag + ": '" + text + "' is not a duration such as 8h, 90m or 1h30m"));
  }

  static OperatorConfig.Limits limits(String flag, String text) {
    String[] parts = text.split(",");
    try {
      if (parts.length == 3) {
        int[] v = Arrays.stream(parts).mapToInt(p -> Integer.parseInt(p.trim())).toArray();
        if (v[0] > 0 && v[1] > 0 && v[2] > 0) {
          return new OperatorConfig.Limits(v[0], v[1], v[2]);
        }
      }
    } catch (NumberFormatException e) {
      // fall through to the message below
    }
    throw new IllegalArgumentException(flag + ": '" + text
        + "' must be three positive numbers: per-IP per minute, per-IP burst per second, per-user per minute");
  }

  static Set<Setting> settings(String text) {
    if (text.isBlank() || text.trim().equals("none")) {
      return Set.of();
    }
    Set<Setting> out = EnumSet.noneOf(Setting.class);
    for (String name : text.split(",")) {
      String n = name.trim();
      out.add(Arrays.stream(Setting.values()).filter(s -> s.wireName().equals(n)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("--allowed-overrides: '" + n + "' is not one of "
              + Arrays.stream(Setting.values()).map(Setting::wireName).collect(Collectors.joining(", ")))));
    }
    return out;
  }
}
