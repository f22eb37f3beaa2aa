package io.safedefaults.microapp.policy;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The organisation's defaults and bounds, set by the platform team (Helm values become flags or
 * environment variables). Every MicroApp is resolved against it into an {@link AppPlan}.
 */
public record OperatorConfig(
    String sidecarImage,
    String defaultIssuer,
    String clusterIssuer,
    String ingressClassName,
    IngressFlavor ingressFlavor,
    List<String> ingressNamespaces,
    Duration defaultSessionTtl,
    Duration maxSessionTtl,
    Limits defaultLimits,
    Limits maxLimits,
    int defaultRetentionDays,
    int maxRetentionDays,
    Set<Setting> allowedOverrides,
    Resources appResources,
    Resources sidecarResources,
    long runAsUser,
    List<String> trustedProxyCidrs,
    /**
     * PEM of the CAs that sign the OIDC provider's TLS certificates (--oidc-ca-file), already
     * validated and written canonically; null: sidecars trust the JVM's default CAs.
     */
    String oidcCaBundle) {

  /** Requests per minute per IP, burst per second per IP, requests per minute per user. */
  public record Limits(int perIpPerMinute, int perIpBurstPerSecond, int perUserPerMinute) {}

  /** Requests and limits of one container (requests = limits for memory, Guaranteed-friendly). */
  public record Resources(String cpuRequest, String cpuLimit, String memory) {}

  public static OperatorConfig defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Starts from the documented defaults; the CLI sets what the platform team configured. */
  public static final class Builder {
    private String sidecarImage = "ghcr.io/safedefaults/microapp-sidecar:0.1.0";
    private String defaultIssuer;
    private String clusterIssuer;
    private String ingressClassName = "nginx";
    private String ingressFlavor = "auto";
    private List<String> ingressNamespaces = List.of("ingress-nginx");
    private Duration defaultSessionTtl = Duration.ofHours(8);
    private Duration maxSessionTtl = Duration.ofHours(12);
    private Limits defaultLimits = new Limits(100, 10, 60);
    private Limits maxLimits = new Limits(1000, 100, 600);
    private int defaultRetentionDays = 30;
    private int maxRetentionDays = 365;
    private Set<Setting> allowedOverrides = Set.of(Setting.VISIBILITY, Setting.RETENTION);
    private Resources appResources = new Resources("100m", "1", "256Mi");
    // The sidecar is a JVM: 160Mi with the flags in SIDECAR_JVM_OPTIONS (measured, sidecar/README.md).
    private Resources sidecarResources = new Resources("50m", "500m", "160Mi");
    private long runAsUser = 10001;
    private List<String> trustedProxyCidrs = List.of();
    private String oidcCaBundle;

    public Builder sidecarImage(String v) { sidecarImage = v; return this; }
    public Builder defaultIssuer(String v) { defaultIssuer = v; return this; }
    public Builder clusterIssuer(String v) { clusterIssuer = v; return this; }
    public Builder ingressClassName(String v) { ingressClassName = v; return this; }
    public Builder ingressFlavor(String v) { ingressFlavor = v; return this; }
    public Builder ingressNamespaces(List<String> v) { ingressNamespaces = List.copyOf(v); return this; }
    public Builder defaultSessionTtl(Duration v) { defaultSessionTtl = v; return this; }
    public Builder maxSessionTtl(Duration v) { maxSessionTtl = v; return this; }
    public Builder defaultLimits(Limits v) { defaultLimits = v; return this; }
    public Builder maxLimits(Limits v) { maxLimits = v; return this; }
    public Builder defaultRetentionDays(int v) { defaultRetentionDays = v; return this; }
    public Builder maxRetentionDays(int v) { maxRetentionDays = v; return this; }
    public Builder allowedOverrides(Set<Setting> v) { allowedOverrides = Set.copyOf(v); return this; }
    public Builder appResources(Resources v) { appResources = v; return this; }
    public Builder sidecarResources(Resources v) { sidecarResources = v; return this; }
    public Builder runAsUser(long v) { runAsUser = v; return this; }
    public Builder trustedProxyCidrs(List<String> v) { trustedProxyCidrs = List.copyOf(v); return this; }
    /** @param pem from {@code CaBundle.pem(CaBundle.read(...))}, or null */
    public Builder oidcCaBundle(String pem) { oidcCaBundle = pem; return this; }

    /** Checks the bounds a platform team could get wrong; each message names the flag. */
    public OperatorConfig build() {
      if (defaultSessionTtl.compareTo(maxSessionTtl) > 0) {
        throw new IllegalArgumentException("--default-session-ttl (" + defaultSessionTtl
            + ") must not exceed --max-session-ttl (" + maxSessionTtl + ")");
      }
      if (maxSessionTtl.compareTo(Duration.ofHours(24)) > 0) {
        throw new IllegalArgumentException("--max-session-ttl must be 24h or less");
      }
      if (defaultLimits.perIpPerMinute() > maxLimits.perIpPerMinute()
          || defaultLimits.perIpBurstPerSecond() > maxLimits.perIpBurstPerSecond()
          || defaultLimits.perUserPerMinute() > maxLimits.perUserPerMinute()) {
        throw new IllegalArgumentException("--default-limits " + defaultLimits.perIpPerMinute() + ","
            + defaultLimits.perIpBurstPerSecond() + "," + defaultLimits.perUserPerMinute()
            + " must not exceed --max-limits " + maxLimits.perIpPerMinute() + ","
            + maxLimits.perIpBurstPerSecond() + "," + maxLimits.perUserPerMinute());
      }
      if (defaultRetentionDays < 1 || defaultRetentionDays > maxRetentionDays) {
        throw new IllegalArgumentException("--default-retention-days must be between 1 and --max-retention-days");
      }
      for (String cidr : trustedProxyCidrs) {
        if (!cidr.matches("^(\\d{1,3}(\\.\\d{1,3}){3}/(3[0-2]|[12]?\\d)|[0-9A-Fa-f:]+/(12[0-8]|1[01]\\d|[1-9]?\\d))$")) {
          throw new IllegalArgumentException("--trusted-proxy-cidrs: '" + cidr
              + "' is not a CIDR such as 10.244.0.0/16 (the ingress controller's pod range)");
        }
      }
      if (runAsUser < 1) {
        throw new IllegalArgumentException("--run-as-user must be a non-root uid (1 or more)");
      }
      return new OperatorConfig(sidecarImage, blankToNull(defaultIssuer), blankToNull(clusterIssuer),
          blankToNull(ingressClassName), IngressFlavor.parse(ingressFlavor, ingressClassName),
          ingressNamespaces, defaultSessionTtl, maxSessionTtl, defaultLimits, maxLimits, defaultRetentionDays,
          maxRetentionDays, allowedOverrides, appResources, sidecarResources, runAsUser, trustedProxyCidrs,
          oidcCaBundle == null || oidcCaBundle.isBlank() ? null : oidcCaBundle);
    }

    private static String blankToNull(String s) {
      return s == null || s.isBlank() ? null : s.trim();
    }
  }
}
