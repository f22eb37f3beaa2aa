package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** A single sealed value in a field of its own, such as the OIDC client secret. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SealedRef {
  @Required
  @Size(max = 16384)
  @JsonPropertyDescription("Sealed value from 'microapp-operator seal' (v1:app:... or v1:ns:...).")
  @ValidationRule(value = "self.matches('^v1:(app|ns):[A-Za-z0-9+/]+={0,2}$')",
      message = "sealed must be a value from 'microapp-operator seal' (v1:app:... or v1:ns:...), never plaintext")
  private String sealed;

  public SealedRef() {}

  public SealedRef(String sealed) {
    this.sealed = sealed;
  }

  public String getSealed() { return sealed; }
  public void setSealed(String sealed) { this.sealed = sealed; }
}
