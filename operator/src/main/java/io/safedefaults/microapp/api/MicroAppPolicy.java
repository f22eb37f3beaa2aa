package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A team's policy, set by the platform team: which namespaces it covers, the host domains and
 * identity providers their apps may use, the bounds and defaults that replace the operator's flags
 * there, whether violations block exposure (enforce) or are only reported (audit), and exemptions.
 * Cluster-scoped, so app teams (who hold namespaced rights) cannot write it.
 */
@Group(MicroApp.GROUP)
@Version(MicroApp.VERSION)
@ShortNames({"mapol"})
@AdditionalPrinterColumn(name = "Mode", jsonPath = ".spec.mode")
@AdditionalPrinterColumn(name = "Namespaces", jsonPath = ".status.namespaces")
@AdditionalPrinterColumn(name = "Valid", jsonPath = ".status.conditions[?(@.type==\"Valid\")].status")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class MicroAppPolicy extends CustomResource<MicroAppPolicySpec, MicroAppPolicyStatus> {

  /** Required: a policy without a spec selects nothing and says nothing. */
  @Override
  @Required
  @JsonPropertyDescription("Which namespaces this policy covers and the bounds and defaults it sets for their apps.")
  public MicroAppPolicySpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription("What the operator made of this policy: the namespaces it selects and whether it applies as written (Valid).")
  public MicroAppPolicyStatus getStatus() {
    return super.getStatus();
  }

  @Override
  protected MicroAppPolicyStatus initStatus() {
    return null;
  }
}
