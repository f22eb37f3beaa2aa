package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * What a policy sets. Every field is optional: a field left out keeps the operator's flag value
 * (the cluster default policy) for the namespaces the policy selects. Where several policies select
 * a namespace, each field takes the strictest value among those that set it (README, "Policies").
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MicroAppPolicySpec {
  static final String DNS_NAME = "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?[.])*[a-z]([-a-z0-9]{0,61}[a-z0-9])?$";
  private static final String QUANTITY = "^[0-9]+(\\\\.[0-9]+)?(m|Ki|Mi|Gi)?$";
  private static final String NOT_ZERO = "self.matches(r'[1-9]')";
  private static final String SECTION_NAME = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
  private static final String TTL = "^([1-9][0-9]?h)?([1-9][0-9]?m)?$";

  @Required
  @JsonPropertyDescription("The namespaces this policy covers, by label, e.g. matchLabels: {team: food}. "
      + "An empty selector ({}) selects every namespace.")
  private NamespaceSelector namespaceSelector;

  @Default("enforce")
  @JsonPropertyDescription("enforce: a violation blocks exposure or is corrected to the bound (as the flags do). "
      + "audit: what the app asks for is applied and the violation reported (status, Events, reports). "
      + "Where an enforce and an audit policy select a namespace, enforce applies.")
  private Mode mode = Mode.ENFORCE;

  @Size(max = 64)
  @JsonPropertyDescription("Host domains apps may use: a host is allowed when it equals a suffix or ends with "
      + "'.' + suffix, e.g. apps.example.com allows food.apps.example.com. Unset: the flag --allowed-host-suffixes.")
  private List<@Size(max = 253) @Pattern(DNS_NAME) String> allowedHostSuffixes;

  @Size(max = 32)
  @JsonPropertyDescription("OIDC issuers private and organization apps may sign in with (exact URLs; a trailing "
      + "'/' is ignored). Unset: the flag --allowed-issuers.")
  private List<@Size(max = 512) @Pattern("^https://[^\\s/?#@]+(/[^\\s?#]*)?$") String> allowedIssuers;

  @Size(max = 6)
  @JsonPropertyDescription("Defaults an app may relax with a justified override: visibility, mfa, sessionTTL, "
      + "rateLimit, networkPolicy, retention, imageScan. Unset: the flag --allowed-overrides.")
  private List<DefaultOverride.Setting> allowedOverrides;

  @JsonPropertyDescription("Session length: default and maximum, hours and/or minutes such as 8h or 90m.")
  private SessionTtl sessionTTL;

  @JsonPropertyDescription("Rate limits: the default an app gets and the maximum it may ask for.")
  private Limits rateLimit;

  @JsonPropertyDescription("Data retention in days: the default and the maximum.")
  private Retention retention;

  @JsonPropertyDescription("CPU and memory of the app container: the default and the maximum an app may ask for.")
  private Resources resources;

  @JsonPropertyDescription("The vulnerability gate: whether an app's image must pass a scan (Trivy Operator's "
      + "VulnerabilityReports) before the app is exposed, and what fails one.")
  private ImageScanSpec imageScan;

  @JsonPropertyDescription("Approvals: whether apps in the selected namespaces (e.g. those touching organisation "
      + "data) are exposed only after a member of an approver group has approved their current spec generation.")
  private ApprovalSpec approval;

  @Size(max = 256)
  @JsonPropertyDescription("Overrides granted to one app beyond allowedOverrides, each with a justification and "
      + "an expiry; an expired exemption stops applying and the app's status says so.")
  private List<Exemption> exemptions;

  @JsonPropertyDescription("How the apps of these namespaces are reached from outside: an Ingress each, or HTTPRoutes "
      + "on the platform's Gateway. Unset: the flag --exposure (and --gateway-*). Where several policies select a "
      + "namespace and set different exposures, no app there is exposed until they agree (status ExposureConflict).")
  private ExposureSpec exposure;

  @JsonPropertyDescription("Who hears of relaxed defaults: a webhook (Slack or Teams incoming webhook, or anything "
      + "taking {\"text\": ...}) told once each time an app in the selected namespaces relaxes a default.")
  private Notify notify;

  public NamespaceSelector getNamespaceSelector() { return namespaceSelector; }
  public void setNamespaceSelector(NamespaceSelector v) { namespaceSelector = v; }
  public Notify getNotify() { return notify; }
  public void setNotify(Notify v) { notify = v; }
  public Mode getMode() { return mode; }
  public void setMode(Mode v) { mode = v; }
  public List<String> getAllowedHostSuffixes() { return allowedHostSuffixes; }
  public void setAllowedHostSuffixes(List<String> v) { allowedHostSuffixes = v; }
  public List<String> getAllowedIssuers() { return allowedIssuers; }
  public void setAllowedIssuers(List<String> v) { allowedIssuers = v; }
  public List<DefaultOverride.Setting> getAllowedOverrides() { return allowedOverrides; }
  public void setAllowedOverrides(List<DefaultOverride.Setting> v) { allowedOverrides = v; }
  public SessionTtl getSessionTTL() { return sessionTTL; }
  public void setSessionTTL(SessionTtl v) { sessionTTL = v; }
  public Limits getRateLimit() { return rateLimit; }
  public void setRateLimit(Limits v) { rateLimit = v; }
  public Retention getRetention() { return retention; }
  public void setRetention(Retention v) { retention = v; }
  public Resources getResources() { return resources; }
  public void setResources(Resources v) { resources = v; }
  public ImageScanSpec getImageScan() { return imageScan; }
  public void setImageScan(ImageScanSpec v) { imageScan = v; }
  public ApprovalSpec getApproval() { return approval; }
  public void setApproval(ApprovalSpec v) { approval = v; }
  public ExposureSpec getExposure() { return exposure; }
  public void setExposure(ExposureSpec v) { exposure = v; }
  public List<Exemption> getExemptions() { return exemptions; }
  public void setExemptions(List<Exemption> v) { exemptions = v; }

  /** The owners to tell when a default is relaxed (checklist 10). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Notify {
    @Required
    @Size(max = 253)
    @Pattern("^[-._a-zA-Z0-9]+$")
    @JsonPropertyDescription("Key of the Secret microapp-notify-webhooks in the operator's namespace whose value is the "
        + "webhook URL (URLs carry tokens, so they live in a Secret, never in a policy), e.g. team-food.")
    private String webhookSecretKey;

    public String getWebhookSecretKey() { return webhookSecretKey; }
    public void setWebhookSecretKey(String v) { webhookSecretKey = v; }
  }

  public enum Mode {
    @JsonProperty("enforce") ENFORCE,
    @JsonProperty("audit") AUDIT
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class SessionTtl {
    @Size(max = 8)
    @Pattern(TTL)
    @JsonPropertyDescription("Session length of an app that sets none, e.g. 8h.")
    private String defaultTTL;

    @Size(max = 8)
    @Pattern(TTL)
    @JsonPropertyDescription("Longest session an app may ask for without a sessionTTL override (at most 24h).")
    private String max;

    public String getDefaultTTL() { return defaultTTL; }
    public void setDefaultTTL(String v) { defaultTTL = v; }
    public String getMax() { return max; }
    public void setMax(String v) { max = v; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Limits {
    @JsonPropertyDescription("Limits an app gets when it sets none (each number may be left out).")
    private RateLimitSpec defaults;

    @JsonPropertyDescription("The most an app may ask for without a rateLimit override.")
    private RateLimitSpec max;

    public RateLimitSpec getDefaults() { return defaults; }
    public void setDefaults(RateLimitSpec v) { defaults = v; }
    public RateLimitSpec getMax() { return max; }
    public void setMax(RateLimitSpec v) { max = v; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(value = "!has(self.defaultDays) || !has(self.maxDays) || self.defaultDays <= self.maxDays",
      message = "retention.defaultDays must not be above retention.maxDays")
  public static class Retention {
    @Min(1) @Max(3650)
    @JsonPropertyDescription("Days an app keeps data when it sets no ttl.")
    private Integer defaultDays;

    @Min(1) @Max(3650)
    @JsonPropertyDescription("The longest retention an app may ask for.")
    private Integer maxDays;

    public Integer getDefaultDays() { return defaultDays; }
    public void setDefaultDays(Integer v) { defaultDays = v; }
    public Integer getMaxDays() { return maxDays; }
    public void setMaxDays(Integer v) { maxDays = v; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Resources {
    @JsonPropertyDescription("CPU and memory of an app container that sets none.")
    private Quantities defaults;

    @JsonPropertyDescription("The most CPU and memory an app container may ask for (request and limit).")
    private Quantities max;

    public Quantities getDefaults() { return defaults; }
    public void setDefaults(Quantities v) { defaults = v; }
    public Quantities getMax() { return max; }
    public void setMax(Quantities v) { max = v; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Quantities {
    @Size(max = 16)
    @JsonPropertyDescription("CPU, e.g. 500m or 2.")
    @ValidationRule(value = "self.matches('" + QUANTITY + "')", message = "cpu must be a quantity such as 500m or 2")
    @ValidationRule(value = NOT_ZERO, message = "cpu must be more than 0: a limit of 0 means no limit at all")
    private String cpu;

    @Size(max = 16)
    @JsonPropertyDescription("Memory, e.g. 512Mi or 2Gi.")
    @ValidationRule(value = "self.matches('" + QUANTITY + "')", message = "memory must be a quantity such as 512Mi or 2Gi")
    @ValidationRule(value = NOT_ZERO, message = "memory must be more than 0: a limit of 0 means no limit at all")
    private String memory;

    public String getCpu() { return cpu; }
    public void setCpu(String v) { cpu = v; }
    public String getMemory() { return memory; }
    public void setMemory(String v) { memory = v; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Exemption {
    @Required
    @Size(max = 63)
    @Pattern("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    @JsonPropertyDescription("Namespace of the exempted app.")
    private String namespace;

    @Required
    @Size(max = 63)
    @Pattern("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
    @JsonPropertyDescription("Name of the exempted MicroApp.")
    private String app;

    @Required
    @Size(min = 1, max = 6)
    @JsonPropertyDescription("Overrides the app may use although allowedOverrides does not list them; the app "
        + "still declares each one with its own justification in spec.overrides.")
    private List<DefaultOverride.Setting> settings;

    @Required
    @Size(min = 20, max = 512)
    @JsonPropertyDescription("Why the platform team grants it, for auditors (20-512 characters).")
    @ValidationRule(value = "self.findAll(r'[\\p{L}\\p{N}]').size() >= 10",
        message = "exemptions[].justification must say why in words: at least 10 letters or digits")
    private String justification;

    @Required
    @Size(max = 32)
    @JsonPropertyDescription("When the exemption stops applying (RFC 3339, e.g. 2027-03-31T00:00:00Z).")
    @ValidationRule(value = "self.matches(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$')"
        + " && timestamp(self) > timestamp('2000-01-01T00:00:00Z')",
        message = "exemptions[].expires must be an RFC 3339 time such as 2027-03-31T00:00:00Z")
    private String expires;

    public String getNamespace() { return namespace; }
    public void setNamespace(String v) { namespace = v; }
    public String getApp() { return app; }
    public void setApp(String v) { app = v; }
    public List<DefaultOverride.Setting> getSettings() { return settings; }
    public void setSettings(List<DefaultOverride.Setting> v) { settings = v; }
    public String getJustification() { return justification; }
    public void setJustification(String v) { justification = v; }
    public String getExpires() { return expires; }
    public void setExpires(String v) { expires = v; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(value = "self.mode != 'gateway' || has(self.gateway)",
      message = "exposure.gateway must name the Gateway when exposure.mode is gateway")
  @ValidationRule(value = "self.mode != 'ingress' || !has(self.gateway)",
      message = "exposure.gateway applies only when exposure.mode is gateway")
  public static class ExposureSpec {
    @Required
    @JsonPropertyDescription("ingress: an Ingress per app (the operator's --ingress-* flags). gateway: an HTTPRoute on "
        + "the Gateway's HTTPS listener and one on its HTTP listener that only redirects to HTTPS.")
    private ExposureMode mode;

    @JsonPropertyDescription("The platform's Gateway, in gateway mode.")
    private GatewayRef gateway;

    public ExposureMode getMode() { return mode; }
    public void setMode(ExposureMode v) { mode = v; }
    public GatewayRef getGateway() { return gateway; }
    public void setGateway(GatewayRef v) { gateway = v; }
  }

  public enum ExposureMode {
    @JsonProperty("ingress") INGRESS,
    @JsonProperty("gateway") GATEWAY
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(value = "!has(self.httpsListener) || !has(self.httpListener) || self.httpsListener != self.httpListener",
      message = "exposure.gateway.httpListener must differ from httpsListener: the HTTP listener only redirects")
  public static class GatewayRef {
    @Required
    @Size(max = 63)
    @Pattern("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    @JsonPropertyDescription("Name of the Gateway.")
    private String name;

    @Required
    @Size(max = 63)
    @Pattern("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    @JsonPropertyDescription("Namespace of the Gateway.")
    private String namespace;

    @Size(max = 253)
    @Pattern(SECTION_NAME)
    @JsonPropertyDescription("sectionName of the Gateway's HTTPS listener; unset: https.")
    private String httpsListener;

    @Size(max = 253)
    @Pattern(SECTION_NAME)
    @JsonPropertyDescription("sectionName of the Gateway's plain HTTP listener (redirect only); unset: http.")
    private String httpListener;

    @Size(max = 16)
    @JsonPropertyDescription("Namespaces where the Gateway's proxies run, admitted by the apps' NetworkPolicies; "
        + "unset: the Gateway's namespace.")
    private List<@Size(max = 63) @Pattern("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$") String> dataPlaneNamespaces;

    public String getName() { return name; }
    public void setName(String v) { name = v; }
    public String getNamespace() { return namespace; }
    public void setNamespace(String v) { namespace = v; }
    public String getHttpsListener() { return httpsListener; }
    public void setHttpsListener(String v) { httpsListener = v; }
    public String getHttpListener() { return httpListener; }
    public void setHttpListener(String v) { httpListener = v; }
    public List<String> getDataPlaneNamespaces() { return dataPlaneNamespaces; }
    public void setDataPlaneNamespaces(List<String> v) { dataPlaneNamespaces = v; }
  }
}
