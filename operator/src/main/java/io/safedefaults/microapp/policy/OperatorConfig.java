package io.safedefaults.microapp.policy;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.ImageScanSpec;
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
    String oidcCaBundle,
    /** Host domains apps may use (a host equals one or ends with '.' + one); null: any host. */
    List<String> allowedHostSuffixes,
    /** Issuers private and organization apps may sign in with, without a trailing '/'; null: any. */
    List<String> allowedIssuers,
    /** The most CPU and memory an app container may have (request and limit). */
    Quantities maxAppResources,
    /** Whether a violation of this policy blocks or is corrected (enforce) or is only reported (audit). */
    Mode mode,
    /** The MicroAppPolicies this configuration came from, by name; empty: the operator's flags alone. */
    List<String> policies,
    /** Overrides granted to single apps beyond allowedOverrides, with their expiry. */
    List<Exemption> exemptions,
    /** The vulnerability gate: whether a passed scan of the app's image is required, and what fails one. */
    ImageScanRule imageScan,
    /** Approvals: whether an approver must approve each spec generation before the app is exposed. */
    ApprovalRule approval,
    /** Ingress or HTTPRoutes on the platform's Gateway (--exposure, a MicroAppPolicy's exposure). */
    Exposure exposure,
    /** Gateway mode's edge rate limit adapter (--gateway-edge-limits); cluster-wide, not per policy. */
    EdgeLimits gatewayEdgeLimits,
    /**
     * Namespaces whose Prometheus may scrape the sidecars' metrics port (--metrics-namespaces): each
     * app's NetworkPolicy admits that port, and only it, from them. Empty: no scraping of app pods.
     */
    List<String> metricsNamespaces,
    /**
     * How sidecars open their app's session keyset when it is wrapped under a KMS key
     * (--kms-session-key-uri); null: session keysets are stored as they are, for the sidecar to read.
     */
    SessionKeyKms sessionKeyKms) {

  public enum Mode { ENFORCE, AUDIT }

  /**
   * The KMS key that wraps every app's session keyset, and how a sidecar reaches it with a
   * service-account token projected into the sidecar container alone: a Vault Kubernetes-auth
   * login, or an AWS IAM role assumed with that token (IAM roles for service accounts).
   *
   * @param uri the key as --kms-session-key-uri names it
   * @param endpoint --kms-endpoint, or null for the one the key implies
   * @param caBundle PEM the KMS's certificate must chain to (--kms-ca-file's content), or null
   * @param tokenAudience the audience of the projected token (--kms-sidecar-token-audience)
   * @param vault for a vault-transit:// key: the auth method's path and the role; else null
   * @param aws for an aws-kms:// key: the role sidecars assume and the STS endpoint; else null
   */
  public record SessionKeyKms(String uri, String endpoint, String caBundle, String tokenAudience, Vault vault, Aws aws) {
    /** @param authPath where Vault's Kubernetes auth is mounted; @param role the role sidecars log in as */
    public record Vault(String authPath, String role) {}

    /** @param roleArn the IAM role sidecars assume; @param stsEndpoint STS's base URL, or null for the regional one */
    public record Aws(String roleArn, String stsEndpoint) {}

    public static SessionKeyKms vault(String uri, String endpoint, String caBundle, String authPath, String role,
        String tokenAudience) {
      return new SessionKeyKms(uri, endpoint, caBundle, tokenAudience, new Vault(authPath, role), null);
    }

    public static SessionKeyKms aws(String uri, String endpoint, String caBundle, String roleArn, String stsEndpoint,
        String tokenAudience) {
      return new SessionKeyKms(uri, endpoint, caBundle, tokenAudience, null, new Aws(roleArn, stsEndpoint));
    }
  }

  /**
   * The vulnerability gate. {@code failAt}: the lowest severity that fails a scan; {@code includeUnfixed}:
   * whether vulnerabilities without a fixed version count.
   */
  public record ImageScanRule(ImageScanSpec.Mode mode, ImageScanSpec.Severity failAt, boolean includeUnfixed) {
    public static final ImageScanRule DEFAULT = new ImageScanRule(ImageScanSpec.Mode.OFF,
        ImageScanSpec.Severity.CRITICAL, false);

    public boolean required() { return mode != ImageScanSpec.Mode.OFF; }
  }

  /**
   * Approvals (issue 18, item 5). {@code approverGroups}: the groups whose members may approve; empty
   * while required means no group may (policies that name groups share none), and nobody can approve.
   */
  public record ApprovalRule(boolean required, List<String> approverGroups) {
    public static final ApprovalRule NONE = new ApprovalRule(false, List.of());

    public ApprovalRule {
      approverGroups = List.copyOf(approverGroups);
    }
  }

  /** CPU and memory quantities in Kubernetes notation (250m, 2, 512Mi). */
  public record Quantities(String cpu, String memory) {}

  /** Overrides of one app granted by a policy until {@code expires}. */
  public record Exemption(String policy, String namespace, String app, Set<Setting> settings,
      String justification, java.time.Instant expires) {}

  /** Where the bounds come from, for status messages: "policy team-a" or "the operator's flags". */
  public String source() {
    return policies.isEmpty() ? "the cluster policy (operator flags)"
        : (policies.size() == 1 ? "policy " : "policies ") + String.join(", ", policies);
  }

  /** A builder holding every value of this configuration, to derive a namespace's from the flags'. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.sidecarImage = sidecarImage;
    b.defaultIssuer = defaultIssuer;
    b.clusterIssuer = clusterIssuer;
    b.ingressClassName = ingressClassName;
    b.ingressFlavor = ingressFlavor.name().toLowerCase(java.util.Locale.ROOT);
    b.ingressNamespaces = ingressNamespaces;
    b.defaultSessionTtl = defaultSessionTtl;
    b.maxSessionTtl = maxSessionTtl;
    b.defaultLimits = defaultLimits;
    b.maxLimits = maxLimits;
    b.defaultRetentionDays = defaultRetentionDays;
    b.maxRetentionDays = maxRetentionDays;
    b.allowedOverrides = allowedOverrides;
    b.appResources = appResources;
    b.sidecarResources = sidecarResources;
    b.runAsUser = runAsUser;
    b.trustedProxyCidrs = trustedProxyCidrs;
    b.oidcCaBundle = oidcCaBundle;
    b.allowedHostSuffixes = allowedHostSuffixes;
    b.allowedIssuers = allowedIssuers;
    b.maxAppResources = maxAppResources;
    b.mode = mode;
    b.policies = policies;
    b.exemptions = exemptions;
    b.imageScan = imageScan;
    b.approval = approval;
    b.exposure = exposure;
    b.gatewayEdgeLimits = gatewayEdgeLimits;
    b.metricsNamespaces = metricsNamespaces;
    b.sessionKeyKms = sessionKeyKms;
    return b;
  }

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
    // The sidecar is a JVM: 160Mi with the flags in kube.SidecarRuntime.JVM_OPTIONS (measured, sidecar/README.md).
    private Resources sidecarResources = new Resources("50m", "500m", "160Mi");
    private long runAsUser = 10001;
    private List<String> trustedProxyCidrs = List.of();
    private String oidcCaBundle;
    private List<String> allowedHostSuffixes;
    private List<String> allowedIssuers;
    private Quantities maxAppResources = new Quantities("4", "8Gi");
    private Mode mode = Mode.ENFORCE;
    private List<String> policies = List.of();
    private List<Exemption> exemptions = List.of();
    private ImageScanRule imageScan = ImageScanRule.DEFAULT;
    private ApprovalRule approval = ApprovalRule.NONE;
    private Exposure exposure = Exposure.ingress();
    private EdgeLimits gatewayEdgeLimits = EdgeLimits.NONE;
    private List<String> metricsNamespaces = List.of();
    private SessionKeyKms sessionKeyKms;

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
    /** @param v the allowed host domains, or null for any host */
    public Builder allowedHostSuffixes(List<String> v) { allowedHostSuffixes = v == null ? null : List.copyOf(v); return this; }
    /** @param v the allowed issuers, or null for any */
    public Builder allowedIssuers(List<String> v) {
      allowedIssuers = v == null ? null : v.stream().map(OperatorConfig::normalIssuer).distinct().toList();
      return this;
    }
    public Builder maxAppResources(Quantities v) { maxAppResources = v; return this; }
    public Builder mode(Mode v) { mode = v; return this; }
    public Builder policies(List<String> v) { policies = List.copyOf(v); return this; }
    public Builder exemptions(List<Exemption> v) { exemptions = List.copyOf(v); return this; }
    public Builder imageScan(ImageScanRule v) { imageScan = java.util.Objects.requireNonNull(v); return this; }
    public Builder approval(ApprovalRule v) { approval = java.util.Objects.requireNonNull(v); return this; }
    public Builder exposure(Exposure v) { exposure = java.util.Objects.requireNonNull(v); return this; }
    public Builder gatewayEdgeLimits(EdgeLimits v) { gatewayEdgeLimits = java.util.Objects.requireNonNull(v); return this; }
    public Builder metricsNamespaces(List<String> v) { metricsNamespaces = List.copyOf(v); return this; }
    public Builder sessionKeyKms(SessionKeyKms v) { sessionKeyKms = v; return this; }
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
      for (String suffix : allowedHostSuffixes == null ? List.<String>of() : allowedHostSuffixes) {
        if (!suffix.matches("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?[.])*[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")) {
          throw new IllegalArgumentException("--allowed-host-suffixes: '" + suffix
              + "' is not a lowercase DNS name such as apps.example.com");
        }
      }
      for (String issuer : allowedIssuers == null ? List.<String>of() : allowedIssuers) {
        if (!issuer.matches("^https://[^\\s/?#@]+(/[^\\s?#]*)?$")) {
          throw new IllegalArgumentException("--allowed-issuers: '" + issuer
              + "' is not an https URL without user info, query or fragment, e.g. https://login.example.com/realms/acme");
        }
      }
      Quantity.parse("--max-app-resources cpu", maxAppResources.cpu());
      Quantity.parse("--max-app-resources memory", maxAppResources.memory());
      if (runAsUser < 1) {
        throw new IllegalArgumentException("--run-as-user must be a non-root uid (1 or more)");
      }
      return new OperatorConfig(sidecarImage, blankToNull(defaultIssuer), blankToNull(clusterIssuer),
          blankToNull(ingressClassName), IngressFlavor.parse(ingressFlavor, ingressClassName),
          ingressNamespaces, defaultSessionTtl, maxSessionTtl, defaultLimits, maxLimits, defaultRetentionDays,
          maxRetentionDays, allowedOverrides, appResources, sidecarResources, runAsUser, trustedProxyCidrs,
          oidcCaBundle == null || oidcCaBundle.isBlank() ? null : oidcCaBundle,
          allowedHostSuffixes, allowedIssuers, maxAppResources, mode, policies, exemptions, imageScan, approval,
          exposure, gatewayEdgeLimits, metricsNamespaces, sessionKeyKms);
    }

    private static String blankToNull(String s) {
      return s == null || s.isBlank() ? null : s.trim();
    }
  }

  /** True when the policy lets an app use this host. */
  public boolean allowsHost(String host) {
    return allowedHostSuffixes == null || allowedHostSuffixes.stream().anyMatch(s -> covers(s, host));
  }

  /** True when {@code host} equals {@code suffix} or lies under it. */
  public static boolean covers(String suffix, String host) {
    return host.equals(suffix) || host.endsWith("." + suffix);
  }

  /** True when the policy lets a signed-in app use this issuer. */
  public boolean allowsIssuer(String issuer) {
    return allowedIssuers == null || allowedIssuers.contains(normalIssuer(issuer));
  }

  /** An issuer as compared with allowedIssuers: one trailing '/' is not a difference. */
  public static String normalIssuer(String issuer) {
    return issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
  }
}
