package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * The vulnerability gate of a policy: whether an app's image must have passed a scan before the
 * app is exposed, and what counts as failing. The scan itself is the platform's scanner's (Trivy
 * Operator's VulnerabilityReports); the operator reads its verdict.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ImageScanSpec {

  @JsonPropertyDescription("off: scans are not required (the checklist shows the item as relaxed by the "
      + "platform). audit: a missing or failing scan is reported (ImageScanned=False, Ready=False) but the app "
      + "stays exposed. enforce: the app gets no Ingress until a scan of its image passes. Where policies "
      + "disagree, enforce beats audit beats off. Unset: the flag --image-scan (default off).")
  private Mode mode;

  @JsonPropertyDescription("The lowest severity that fails a scan: critical (default), high, medium or low. "
      + "Where policies disagree, the lowest applies. Unset: the flag --image-scan-fail-at.")
  private Severity failAt;

  @JsonPropertyDescription("Whether vulnerabilities without a fixed version fail a scan too. false (default): "
      + "only those an upgrade fixes count, as there is nothing to upgrade to otherwise. Where policies "
      + "disagree, true applies.")
  private Boolean includeUnfixed;

  public enum Mode {
    @JsonProperty("off") OFF,
    @JsonProperty("audit") AUDIT,
    @JsonProperty("enforce") ENFORCE
  }

  /** Trivy's severities, most severe first. */
  public enum Severity {
    @JsonProperty("critical") CRITICAL,
    @JsonProperty("high") HIGH,
    @JsonProperty("medium") MEDIUM,
    @JsonProperty("low") LOW
  }

  public Mode getMode() { return mode; }
  public void setMode(Mode v) { mode = v; }
  public Severity getFailAt() { return failAt; }
  public void setFailAt(Severity v) { failAt = v; }
  public Boolean getIncludeUnfixed() { return includeUnfixed; }
  public void setIncludeUnfixed(Boolean v) { includeUnfixed = v; }
}
