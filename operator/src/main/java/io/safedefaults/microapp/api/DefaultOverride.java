package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** One relaxed default with the reason for it (checklist 10). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DefaultOverride {

  @Required
  @JsonPropertyDescription("The default being relaxed: visibility (allow public), mfa (no MFA on adminPaths), "
      + "sessionTTL (longer than the policy maximum), rateLimit (higher than the policy maximum), "
      + "networkPolicy (admit traffic from every namespace), retention (no scheduled purge: the app keeps no data).")
  private Setting setting;

  @Required
  @Size(min = 20, max = 512)
  @JsonPropertyDescription("Why the default does not fit this app, in a sentence an auditor can judge (20-512 characters).")
  @ValidationRule(value = "self.trim().size() >= 20",
      message = "spec.overrides[].justification must say why in at least 20 characters")
  // Length alone counts invisible and format characters (zero-width spaces, joiners, soft hyphens,
  // combining marks, tag characters): what an auditor reads is letters and digits, in any script.
  @ValidationRule(value = "self.findAll(r'[\\p{L}\\p{N}]').size() >= 10",
      message = "spec.overrides[].justification must say why in words: at least 10 letters or digits"
          + " (spaces, punctuation, invisible and format characters do not count)")
  private String justification;

  public DefaultOverride() {}

  public DefaultOverride(Setting setting, String justification) {
    this.setting = setting;
    this.justification = justification;
  }

  public Setting getSetting() { return setting; }
  public void setSetting(Setting setting) { this.setting = setting; }
  public String getJustification() { return justification; }
  public void setJustification(String justification) { this.justification = justification; }

  /** Settings that may be relaxed. */
  public enum Setting {
    @com.fasterxml.jackson.annotation.JsonProperty("visibility") VISIBILITY,
    @com.fasterxml.jackson.annotation.JsonProperty("mfa") MFA,
    @com.fasterxml.jackson.annotation.JsonProperty("sessionTTL") SESSION_TTL,
    @com.fasterxml.jackson.annotation.JsonProperty("rateLimit") RATE_LIMIT,
    @com.fasterxml.jackson.annotation.JsonProperty("networkPolicy") NETWORK_POLICY,
    @com.fasterxml.jackson.annotation.JsonProperty("retention") RETENTION,
    @com.fasterxml.jackson.annotation.JsonProperty("imageScan") IMAGE_SCAN;

    public String wireName() {
      return switch (this) {
        case VISIBILITY -> "visibility";
        case MFA -> "mfa";
        case SESSION_TTL -> "sessionTTL";
        case RATE_LIMIT -> "rateLimit";
        case NETWORK_POLICY -> "networkPolicy";
        case RETENTION -> "retention";
        case IMAGE_SCAN -> "imageScan";
      };
    }
  }
}
