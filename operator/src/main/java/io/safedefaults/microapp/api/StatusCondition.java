package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.Objects;

/**
 * One status condition, with the fields of Kubernetes' metav1.Condition. It is our own type rather
 * than Fabric8's {@code Condition} so that the generated CRD carries a description for every field
 * and {@code kubectl explain microapp.status.conditions} tells people what they are reading.
 * The {@code with*} methods return copies, so a condition read from the cache is never changed in place.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class StatusCondition {

  @Required
  @Size(max = 316)
  @JsonPropertyDescription("What this condition is about, in CamelCase. On a MicroApp: Ready, or a checklist "
      + "area such as Authenticated, TLSEnforced or RateLimited. On a MicroAppPolicy: Valid.")
  private String type;

  @Required
  @Pattern("^(True|False|Unknown)$")
  @JsonPropertyDescription("True, False or Unknown. For a MicroApp's Ready, True means every default holds "
      + "and the app is reachable; anything else means it is not exposed, or not fully.")
  private String status;

  @Min(0)
  @JsonPropertyDescription("metadata.generation of the spec this condition was computed from. Older than "
      + "metadata.generation means the operator has not caught up with the latest change yet.")
  private Long observedGeneration;

  @Required
  @JsonPropertyDescription("When status last changed (RFC 3339, UTC). It does not move while the status "
      + "stays the same, even if the reason or message change.")
  private String lastTransitionTime;

  @Size(max = 1024)
  @JsonPropertyDescription("Why, as one CamelCase word a script can match on (for example HostTaken, "
      + "PodsNotReady, OverridesApplied).")
  private String reason;

  @Size(max = 32768)
  @JsonPropertyDescription("Why, for people: what is wrong and, where it is the app's to fix, the field "
      + "to change. Never carries secret values or e-mail addresses.")
  private String message;

  public StatusCondition() {}

  private StatusCondition(String type, String status, Long observedGeneration, String lastTransitionTime,
      String reason, String message) {
    this.type = type;
    this.status = status;
    this.observedGeneration = observedGeneration;
    this.lastTransitionTime = lastTransitionTime;
    this.reason = reason;
    this.message = message;
  }

  /** A condition without generation and transition time yet (the status writer stamps them). */
  public static StatusCondition of(String type, boolean status, String reason, String message) {
    return new StatusCondition(Objects.requireNonNull(type), status ? "True" : "False", null, null,
        Objects.requireNonNull(reason), message == null ? "" : message);
  }

  public StatusCondition withObservedGeneration(Long generation) {
    return new StatusCondition(type, status, generation, lastTransitionTime, reason, message);
  }

  public StatusCondition withLastTransitionTime(String time) {
    return new StatusCondition(type, status, observedGeneration, time, reason, message);
  }

  @JsonIgnore
  public boolean isTrue() { return "True".equals(status); }

  public String getType() { return type; }
  public void setType(String type) { this.type = type; }
  public String getStatus() { return status; }
  public void setStatus(String status) { this.status = status; }
  public Long getObservedGeneration() { return observedGeneration; }
  public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
  public String getLastTransitionTime() { return lastTransitionTime; }
  public void setLastTransitionTime(String lastTransitionTime) { this.lastTransitionTime = lastTransitionTime; }
  public String getReason() { return reason; }
  public void setReason(String reason) { this.reason = reason; }
  public String getMessage() { return message; }
  public void setMessage(String message) { this.message = message; }

  @Override
  public boolean equals(Object o) {
    return o instanceof StatusCondition c && Objects.equals(type, c.type) && Objects.equals(status, c.status)
        && Objects.equals(observedGeneration, c.observedGeneration)
        && Objects.equals(lastTransitionTime, c.lastTransitionTime) && Objects.equals(reason, c.reason)
        && Objects.equals(message, c.message);
  }

  @Override
  public int hashCode() {
    return Objects.hash(type, status, observedGeneration, lastTransitionTime, reason, message);
  }

  @Override
  public String toString() {
    return type + "=" + status + " (" + reason + "): " + message;
  }
}
