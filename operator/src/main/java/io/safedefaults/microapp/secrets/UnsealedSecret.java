package io.safedefaults.microapp.secrets;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Secret holding an app's opened values. App values are keyed by their names (environment
 * variable names); the OIDC client secret is under {@value #CLIENT_SECRET_KEY}, a name no app value
 * can take, and only the sidecar mounts that one item.
 */
public final class UnsealedSecret {
  public static final String CLIENT_SECRET_KEY = "oidc-client-secret";

  private UnsealedSecret() {}

  public static Secret desired(MicroApp app, Unsealer.Unsealed unsealed) {
    Map<String, String> data = new LinkedHashMap<>();
    unsealed.appValues().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v)));
    if (unsealed.clientSecret() != null) {
      data.put(CLIENT_SECRET_KEY, Base64.getEncoder().encodeToString(unsealed.clientSecret()));
    }
    return new SecretBuilder()
        .withMetadata(Names.metadata(app, Names.sealedValuesSecret(app)))
        .withType("Opaque")
        .withData(data)
        .build();
  }
}
