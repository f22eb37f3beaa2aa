package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A namespace label selector with the JSON shape of Kubernetes' metav1.LabelSelector. Our own type so
 * that {@code kubectl explain microapppolicy.spec.namespaceSelector} documents each field; matching
 * follows the API's semantics (PolicyMerge.matches).
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public class NamespaceSelector {

  @JsonPropertyDescription("Labels a namespace must carry, all of them, with exactly these values.")
  private Map<String, String> matchLabels;

  @JsonPropertyDescription("Further requirements a namespace's labels must all meet.")
  private List<Requirement> matchExpressions;

  public NamespaceSelector() {}

  /** Selects namespaces carrying all these labels; no labels selects every namespace. */
  public static NamespaceSelector labels(Map<String, String> labels) {
    NamespaceSelector s = new NamespaceSelector();
    s.matchLabels = labels == null || labels.isEmpty() ? null : new LinkedHashMap<>(labels);
    return s;
  }

  /** A copy that also requires {@code key operator values}. */
  public NamespaceSelector and(String key, String operator, String... values) {
    NamespaceSelector s = labels(matchLabels);
    s.matchExpressions = new ArrayList<>(matchExpressions == null ? List.of() : matchExpressions);
    s.matchExpressions.add(new Requirement(key, operator, values.length == 0 ? null : List.of(values)));
    return s;
  }

  public Map<String, String> getMatchLabels() { return matchLabels; }
  public void setMatchLabels(Map<String, String> v) { matchLabels = v; }
  public List<Requirement> getMatchExpressions() { return matchExpressions; }
  public void setMatchExpressions(List<Requirement> v) { matchExpressions = v; }

  @Override
  public boolean equals(Object o) {
    return o instanceof NamespaceSelector s && Objects.equals(matchLabels, s.matchLabels)
        && Objects.equals(matchExpressions, s.matchExpressions);
  }

  @Override
  public int hashCode() { return Objects.hash(matchLabels, matchExpressions); }

  /** One requirement on a label, as in metav1.LabelSelectorRequirement. */
  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  public static class Requirement {
    @Required
    @JsonPropertyDescription("The label's key, e.g. team.")
    private String key;

    @Required
    @JsonPropertyDescription("In, NotIn, Exists or DoesNotExist. Any other operator selects every namespace "
        + "(the stricter doubt) and the policy's Valid condition names it.")
    private String operator;

    @JsonPropertyDescription("The values for In and NotIn; empty for Exists and DoesNotExist.")
    private List<String> values;

    public Requirement() {}

    public Requirement(String key, String operator, List<String> values) {
      this.key = key;
      this.operator = operator;
      this.values = values;
    }

    public String getKey() { return key; }
    public void setKey(String v) { key = v; }
    public String getOperator() { return operator; }
    public void setOperator(String v) { operator = v; }
    public List<String> getValues() { return values; }
    public void setValues(List<String> v) { values = v; }

    @Override
    public boolean equals(Object o) {
      return o instanceof Requirement r && Objects.equals(key, r.key) && Objects.equals(operator, r.operator)
          && Objects.equals(values, r.values);
    }

    @Override
    public int hashCode() { return Objects.hash(key, operator, values); }
  }
}
