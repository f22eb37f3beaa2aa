package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** CPU and memory of the app container. Quantities use Kubernetes notation (250m, 256Mi). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AppResources {
  private static final String QUANTITY = "^[0-9]+(\\\\.[0-9]+)?(m|Ki|Mi|Gi)?$";
  /** A quantity with a digit other than 0 is more than 0 (the container's limit is this value). */
  private static final String NOT_ZERO = "self.matches(r'[1-9]')";

  @Size(max = 16)
  @JsonPropertyDescription("CPU request and limit, e.g. 250m or 1.")
  @ValidationRule(value = "self.matches('" + QUANTITY + "')", message = "spec.resources.cpu must be a quantity such as 250m or 1")
  @ValidationRule(value = NOT_ZERO, message = "spec.resources.cpu must be more than 0: a limit of 0 means no limit at all")
  private String cpu;

  @Size(max = 16)
  @JsonPropertyDescription("Memory request and limit, e.g. 256Mi.")
  @ValidationRule(value = "self.matches('" + QUANTITY + "')", message = "spec.resources.memory must be a quantity such as 256Mi or 1Gi")
  @ValidationRule(value = NOT_ZERO, message = "spec.resources.memory must be more than 0: a limit of 0 means no limit at all")
  private String memory;

  public String getCpu() { return cpu; }
  public void setCpu(String cpu) { this.cpu = cpu; }
  public String getMemory() { return memory; }
  public void setMemory(String memory) { this.memory = memory; }
}
