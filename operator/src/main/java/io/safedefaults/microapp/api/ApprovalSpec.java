package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/**
 * Approvals of a policy (issue 18, item 5): apps in namespaces that touch organisation data are
 * exposed only once a member of an approver group has approved the app's current spec generation.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.required) || !self.required || (has(self.approverGroups) && size(self.approverGroups) > 0)",
    message = "approval.approverGroups must name at least one group when approval.required is true")
public class ApprovalSpec {
  @JsonPropertyDescription("true: an app in the selected namespaces gets no Ingress or HTTPRoute until a member of "
      + "approverGroups has approved its current spec generation (annotations safedefaults.io/approved-generation "
      + "and safedefaults.io/approved-by); every spec change needs a new approval. Where policies disagree, true "
      + "applies. Unset or false: no approval needed (the default).")
  private Boolean required;

  @Size(max = 16)
  @JsonPropertyDescription("Kubernetes groups (as the API server authenticates them) whose members may approve. "
      + "Where several policies name groups, only groups every one of them names may approve. The chart's "
      + "admission rule approvals-by-approvers must list the same groups (value admissionPolicy.approverGroups).")
  private List<@Size(min = 1, max = 253) @Pattern("^[^\\s,]+$") String> approverGroups;

  public Boolean getRequired() { return required; }
  public void setRequired(Boolean v) { required = v; }
  public List<String> getApproverGroups() { return approverGroups; }
  public void setApproverGroups(List<String> v) { approverGroups = v; }
}
