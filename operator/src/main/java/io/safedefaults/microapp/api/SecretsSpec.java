package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.LinkedHashMap;
import java.util.Map;

/** The app's own secret values, sealed with the cluster's public key (checklist 6). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SecretsSpec {

  @JsonPropertyDescription("Sealed values by name, from 'microapp-operator seal'. Each opens only in the "
      + "namespace (and app) it was sealed for and reaches only the app container.")
  @Size(max = 64)
  @ValidationRule(value = "self.all(k, k.matches('^[A-Za-z_][A-Za-z0-9_]{0,127}$'))",
      message = "spec.secrets.sealed: names must be environment variable names such as MAPS_API_KEY")
  @ValidationRule(value = "self.all(k, self[k].matches('^v1:(app|ns):[A-Za-z0-9+/]+={0,2}$'))",
      message = "spec.secrets.sealed: values must be sealed (v1:app:... or v1:ns:...); seal plaintext with"
          + " 'microapp-operator seal', never commit it")
  private Map<String, @Size(max = 16384) String> sealed = new LinkedHashMap<>();

  @Size(max = 256)
  @JsonPropertyDescription("Where the app reads its values as files, one per name (e.g. /var/run/secrets/app). "
      + "Without it the values are environment variables.")
  // The app container already mounts its scratch space at /tmp (a second volume there is refused by
  // the API server, so the Deployment could never be written), and a volume over / hides the image.
  @ValidationRule(value = "self.matches('^(/[A-Za-z0-9._-]+)+$') && !self.contains('..')"
      + " && !self.matches('" + AuthSpec.DOT_SEGMENT + "') && self != '/tmp'",
      message = "spec.secrets.mountPath must be a normalised absolute directory other than / and /tmp (no empty,"
          + " '.' or '..' segments, no trailing '/'), e.g. /var/run/secrets/app")
  private String mountPath;

  public Map<String, String> getSealed() { return sealed; }
  public void setSealed(Map<String, String> sealed) { this.sealed = sealed; }
  public String getMountPath() { return mountPath; }
  public void setMountPath(String mountPath) { this.mountPath = mountPath; }
}
