package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** How long data is kept (checklist 8). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RetentionSpec {
  /**
   * A path the sidecar serves as one concrete route (its PathPattern): URL-safe characters, no empty
   * or dot segments. Shared by exportPath, deletePath and purge.http.path.
   */
  static final String PLAIN_PATH = "self.matches('^/[A-Za-z0-9._~/-]*$') && !self.contains('//')"
      + " && !self.matches('" + AuthSpec.DOT_SEGMENT + "')";

  @Size(max = 8)
  @JsonPropertyDescription("How long the app keeps data, in whole days such as 30d. Default 30d; at least 1d.")
  @ValidationRule(value = "self.matches('^[0-9]{1,4}d$')",
      message = "spec.retention.ttl must be whole days such as 30d")
  @ValidationRule(value = "!self.matches('^[0-9]{1,4}d$') || int(self.replace('d', '')) >= 1",
      message = "spec.retention.ttl must be at least 1d; data kept for less than a day cannot be purged on a daily schedule")
  private String ttl;

  @JsonPropertyDescription("How the daily purge deletes data older than ttl: exactly one of http, postgres or volume.")
  private PurgeSpec purge;

  @Size(max = 256)
  @JsonPropertyDescription("The app's path that returns a signed-in user's own data (served by the sidecar at "
      + "/.well-known/microapp/export after MFA, at most 5 per hour per user).")
  @ValidationRule(value = PLAIN_PATH,
      message = "spec.retention.exportPath must be a plain absolute path such as /api/me/export")
  private String exportPath;

  @Size(max = 256)
  @JsonPropertyDescription("The app's path that deletes a signed-in user's own data (served by the sidecar at "
      + "/.well-known/microapp/delete after MFA, at most 5 per hour per user).")
  @ValidationRule(value = PLAIN_PATH,
      message = "spec.retention.deletePath must be a plain absolute path such as /api/me")
  private String deletePath;

  public String getTtl() { return ttl; }
  public void setTtl(String ttl) { this.ttl = ttl; }
  public PurgeSpec getPurge() { return purge; }
  public void setPurge(PurgeSpec purge) { this.purge = purge; }
  public String getExportPath() { return exportPath; }
  public void setExportPath(String exportPath) { this.exportPath = exportPath; }
  public String getDeletePath() { return deletePath; }
  public void setDeletePath(String deletePath) { this.deletePath = deletePath; }
}
