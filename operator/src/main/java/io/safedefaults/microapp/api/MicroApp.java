package io.safedefaults.microapp.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A micro-app: an image, an optional public host and who may sign in. The operator turns it
 * into a workload that inherits every default of the checklist (DESIGN.md).
 */
@Group(MicroApp.GROUP)
@Version(MicroApp.VERSION)
@ShortNames({"mapp", "mapps"})
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Visibility", jsonPath = ".spec.visibility")
@AdditionalPrinterColumn(name = "Host", jsonPath = ".spec.host")
@AdditionalPrinterColumn(name = "Checklist", jsonPath = ".status.checklist.summary")
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class MicroApp extends CustomResource<MicroAppSpec, MicroAppStatus> implements Namespaced {
  public static final String GROUP = "safedefaults.io";
  public static final String VERSION = "v1alpha1";

  /** Required: without it the API server refuses the object, naming {@code spec}. */
  @Override
  @Required
  public MicroAppSpec getSpec() {
    return super.getSpec();
  }

  @Override
  protected MicroAppStatus initStatus() {
    return null;
  }
}
