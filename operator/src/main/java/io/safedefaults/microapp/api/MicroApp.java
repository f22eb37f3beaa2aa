package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A micro-app: an image, an optional public host and who may sign in. The operator turns it
 * into a workload that inherits every default of the checklist (README.md, "What every app gets").
 */
@Group(MicroApp.GROUP)
@Version(MicroApp.VERSION)
@ShortNames({"mapp", "mapps"})
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Visibility", jsonPath = ".spec.visibility")
@AdditionalPrinterColumn(name = "Host", jsonPath = ".spec.host")
@AdditionalPrinterColumn(name = "Checklist", jsonPath = ".status.checklist.summary")
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", priority = 1)
// The app's name becomes its Service's name (a DNS label) and the start of every child's name
// (Names). Refused here rather than found by the operator after the object is stored.
@ValidationRule(value = "self.metadata.name.matches(r'^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$')",
    message = "metadata.name must be at most 63 lowercase letters, digits and '-', starting with a letter and"
        + " ending with a letter or digit (it names the app's Service), e.g. where2eat")
@ValidationRule(value = "self.metadata.name != 'default'",
    message = "metadata.name 'default' is taken by the namespace's default ServiceAccount; choose another name")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class MicroApp extends CustomResource<MicroAppSpec, MicroAppStatus> implements Namespaced {
  public static final String GROUP = "safedefaults.io";
  public static final String VERSION = "v1alpha1";

  /** Required: without it the API server refuses the object, naming {@code spec}. */
  @Override
  @Required
  @JsonPropertyDescription("What the app is: its image, optional public host, who may sign in, and any justified overrides of a default.")
  public MicroAppSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription("What the operator observed: Ready and one condition per checklist area, the checklist count, sealed values and the purge. Written only by the operator.")
  public MicroAppStatus getStatus() {
    return super.getStatus();
  }

  @Override
  protected MicroAppStatus initStatus() {
    return null;
  }
}
