package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** How long data is kept (checklist 8). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RetentionSpec {

  @Size(max = 8)
  @JsonPropertyDescription("How long the app keeps data, in whole days such as 30d. Default 30d; at least 1d.")
  @ValidationRule(value = "self.matches('^[0-9]{1,4}d$')",
      message = "spec.retention.ttl must be whole days such as 30d")
  @ValidationRule(value = "!self.matches('^[0-9]{1,4}d$') || int(self.replace('d', '')) >= 1",
      message = "spec.retention.ttl must be at least 1d; data kept for less than a day cannot be purged on a daily schedule")
  private String ttl;

  public String getTtl() { return ttl; }
  public void setTtl(String ttl) { this.ttl = ttl; }
}
