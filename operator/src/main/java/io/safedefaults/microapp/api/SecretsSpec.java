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
  // Clean: the API server compares mount paths as strings, so '/tmp/' or '/a/./b' would slip past
  // the check for a path mounted twice and fail only in the container runtime.
  @ValidationRule(value = "self.matches(r'^(/([A-Za-z0-9_-][A-Za-z0-9._-]*|[.][A-Za-z0-9_-][A-Za-z0-9._-]*|[.][.][A-Za-z0-9._-]+))+$')",
      message = "spec.secrets.mountPath must be a clean absolute path (no '.' or '..' segments, no '//' and no"
          + " trailing '/'), e.g. /var/run/secrets/app")
  @ValidationRule(value = "self != '/tmp' && !self.matches(r'^/(proc|sys|dev|var/run/secrets/microapp)(/|$)')",
      message = "spec.secrets.mountPath must not be /tmp (the app's writable directory) nor under"
          + " /var/run/secrets/microapp (both mounted by the operator), /proc, /sys or /dev; use a path of its own,"
          + " e.g. /var/run/secrets/app")
  private String mountPath;

  public Map<String, String> getSealed() { return sealed; }
  public void setSealed(Map<String, String> sealed) { this.sealed = sealed; }
  public String getMountPath() { return mountPath; }
  public void setMountPath(String mountPath) { this.mountPath = mountPath; }
}
