package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/** What a person asks for. Everything left out gets the safe default (the checklist in README.md, "What every app gets"). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "self.visibility != 'public' || (has(self.overrides) && self.overrides.exists(o, o.setting == 'visibility'))",
    message = "spec.visibility: public apps let anyone in without signing in; add an overrides entry "
        + "{setting: visibility, justification: \"...\"} saying why, or use private/organization",
    fieldPath = ".visibility")
@ValidationRule(
    value = "self.visibility != 'private' || (has(self.auth) && ((has(self.auth.allowedGroups) && size(self.auth.allowedGroups) > 0) "
        + "|| (has(self.auth.allowedEmailDomains) && size(self.auth.allowedEmailDomains) > 0)))",
    message = "spec.auth: a private app needs auth.allowedGroups or auth.allowedEmailDomains; "
        + "use visibility: organization to admit every signed-in user of the issuer",
    fieldPath = ".auth")
@ValidationRule(
    value = "!has(self.overrides) || self.overrides.all(o, self.overrides.exists_one(p, p.setting == o.setting))",
    message = "spec.overrides: each setting may be overridden once; merge the duplicate entries",
    fieldPath = ".overrides")
public class MicroAppSpec {

  @Required
  @Size(min = 1, max = 512)
  @JsonPropertyDescription("Container image of the app, e.g. ghcr.io/acme/where2eat:1.4.2. Pin a tag or a digest.")
  // The container image reference grammar (github.com/distribution/reference, without IPv6 hosts):
  // [registry[:port]/]path[:tag][@algorithm:hex]. Anything else (whitespace, control characters,
  // upper case in the path, an empty tag) would be copied into the Deployment and fail only when
  // the kubelet pulls, with status saying no more than PodsNotReady.
  @ValidationRule(value = "self.matches(r'" + IMAGE_REFERENCE + "')",
      message = "spec.image must be an image reference such as ghcr.io/acme/app:1.2.3 or"
          + " ghcr.io/acme/app@sha256:<64 hex>: a lowercase repository path, an optional tag of letters,"
          + " digits, '_', '.', '-' (at most 128), no spaces or control characters")
  private String image;

  /** See {@link #image}; public so tests generate references from the same grammar. */
  public static final String IMAGE_REFERENCE = "^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
      + "(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?"
      + "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
      + "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
      + "(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$";

  @Min(1)
  @Max(65535)
  @Default("8080")
  @JsonPropertyDescription("Port the app listens on inside the pod. Only the auth sidecar reaches it; "
      + "4180 and 4181 are the sidecar's own ports.")
  @ValidationRule(value = "self != 4180 && self != 4181",
      message = "spec.port: 4180 and 4181 are reserved for the auth sidecar; move the app to another port such as 8080")
  private Integer port = 8080;

  @Size(max = 253)
  @JsonPropertyDescription("Public host name, e.g. where2eat.apps.example.com. With a host the app gets a TLS "
      + "Ingress; without one it is reachable only inside the cluster.")
  @ValidationRule(
      // The last label starts with a letter: an IP address is no Ingress host, and the sidecar's URL
      // parser (java.net.URI) finds no host in https://a.b1.
      value = "self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?[.])+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$')",
      message = "spec.host must be a lowercase DNS name with at least one dot whose last label starts with a letter,"
          + " such as app.example.com (no IP address, scheme, port, path, wildcard or upper-case letters)")
  private String host;

  @Default("private")
  @JsonPropertyDescription("Who may reach the app: private (signed-in members of allowedGroups or "
      + "allowedEmailDomains), organization (anyone who can sign in at the issuer) or public "
      + "(no sign-in; needs an override with a justification).")
  private Visibility visibility = Visibility.PRIVATE;

  @JsonPropertyDescription("Sign-in settings for the auth sidecar (checklist 1-3).")
  private AuthSpec auth;

  @JsonPropertyDescription("Request limits at the edge (per client IP) and in the sidecar (per user) (checklist 4).")
  private RateLimitSpec rateLimit;

  @JsonPropertyDescription("Secret values sealed for this app (checklist 6).")
  private SecretsSpec secrets;

  @JsonPropertyDescription("How long the app keeps data (checklist 8).")
  private RetentionSpec retention;

  @JsonPropertyDescription("Container resources of the app; defaults come from the operator configuration.")
  private AppResources resources;

  @Size(max = 16)
  @JsonPropertyDescription("Defaults this app relaxes on purpose. Each entry names the setting and says why; "
      + "the cluster policy decides which settings may be relaxed at all (checklist 10).")
  private List<DefaultOverride> overrides = new ArrayList<>();

  public String getImage() { return image; }
  public void setImage(String image) { this.image = image; }
  public Integer getPort() { return port; }
  public void setPort(Integer port) { this.port = port; }
  public String getHost() { return host; }
  public void setHost(String host) { this.host = host; }
  public Visibility getVisibility() { return visibility; }
  public void setVisibility(Visibility visibility) { this.visibility = visibility; }
  public AuthSpec getAuth() { return auth; }
  public void setAuth(AuthSpec auth) { this.auth = auth; }
  public RateLimitSpec getRateLimit() { return rateLimit; }
  public void setRateLimit(RateLimitSpec rateLimit) { this.rateLimit = rateLimit; }
  public SecretsSpec getSecrets() { return secrets; }
  public void setSecrets(SecretsSpec secrets) { this.secrets = secrets; }
  public RetentionSpec getRetention() { return retention; }
  public void setRetention(RetentionSpec retention) { this.retention = retention; }
  public AppResources getResources() { return resources; }
  public void setResources(AppResources resources) { this.resources = resources; }
  public List<DefaultOverride> getOverrides() { return overrides; }
  public void setOverrides(List<DefaultOverride> overrides) { this.overrides = overrides; }
}
