package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** What the operator made of a policy: whether it is usable as written, and how many namespaces it covers. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MicroAppPolicyStatus {
  @JsonPropertyDescription("Generation of the spec this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription("Number of namespaces the selector matches now.")
  private Integer namespaces;

  @JsonPropertyDescription("Valid: True when every field applies as written; False names what was corrected "
      + "to the stricter value (a default above its maximum) or where policies conflict.")
  private List<StatusCondition> conditions = new ArrayList<>();

  public Long getObservedGeneration() { return observedGeneration; }
  public void setObservedGeneration(Long v) { observedGeneration = v; }
  public Integer getNamespaces() { return namespaces; }
  public void setNamespaces(Integer v) { namespaces = v; }
  public List<StatusCondition> getConditions() { return conditions; }
  public void setConditions(List<StatusCondition> v) { conditions = v; }

  @Override
  public boolean equals(Object o) {
    return o instanceof MicroAppPolicyStatus s && Objects.equals(observedGeneration, s.observedGeneration)
        && Objects.equals(namespaces, s.namespaces) && Objects.equals(conditions, s.conditions);
  }

  @Override
  public int hashCode() {
    return Objects.hash(observedGeneration, namespaces, conditions);
  }
}
