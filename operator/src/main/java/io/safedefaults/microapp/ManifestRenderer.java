package io.safedefaults.microapp;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.safedefaults.microapp.access.AppNetworkPolicy;
import io.safedefaults.microapp.access.AppServiceAccount;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.auth.SessionKeys;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kube.SidecarRuntime;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.retention.PurgeJob;
import io.safedefaults.microapp.secrets.UnsealedSecret;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.tls.GatewayRoutes;
import io.safedefaults.microapp.tls.IngressTlsDefault;
import io.safedefaults.microapp.workload.AppDeployment;
import io.safedefaults.microapp.workload.AppService;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every child the operator would create for an app, from the same pure builders the dependents
 * use, in the order the workflow applies them. Generated key material is never rendered.
 */
public final class ManifestRenderer {
  public static final String KEY_PLACEHOLDER = "set-by-the-operator-in-the-cluster-never-rendered";

  private ManifestRenderer() {}

  public static List<HasMetadata> render(MicroApp app, OperatorConfig config) {
    return render(app, AppPlan.resolve(app, config));
  }

  /** @param plan the app resolved against its policy, when the caller has resolved it already */
  public static List<HasMetadata> render(MicroApp app, AppPlan plan) {
    List<HasMetadata> out = new ArrayList<>();
    if (plan.fatal()) {
      return out;
    }
    out.add(AppServiceAccount.desired(app));
    out.add(SidecarConfig.desired(app, plan));
    Secret keys = SessionKeys.desired(app);
    Map<String, String> keyPlaceholders = new java.util.TreeMap<>(); // sorted: render output is stable
    keyPlaceholders.put(SidecarConfig.KEYSET_FILE, KEY_PLACEHOLDER);
    keyPlaceholders.put(SidecarConfig.USER_ID_SALT_FILE, KEY_PLACEHOLDER);
    keys.setData(null);
    keys.setStringData(keyPlaceholders);
    out.add(keys);
    if (plan.sealed().any()) {
      // The operator opens sealed values in the cluster; offline only the names are known.
      Map<String, byte[]> placeholders = new java.util.TreeMap<>();
      plan.sealed().appValues().forEach(k -> placeholders.put(k, KEY_PLACEHOLDER.getBytes(StandardCharsets.UTF_8)));
      out.add(UnsealedSecret.desired(app, new Unsealer.Unsealed(placeholders,
          plan.sealed().clientSecret() ? KEY_PLACEHOLDER.getBytes(StandardCharsets.UTF_8) : null, List.of(), List.of())));
    }
    out.add(AppNetworkPolicy.desired(app, plan));
    out.add(AppDeployment.desired(app, plan));
    out.add(AppService.desired(app));
    if (plan.retention().scheduled()) {
      out.add(PurgeJob.config(app, plan));
      if (plan.retention().usesToken()) {
        Secret token = PurgeJob.token(app);
        token.setData(Map.of(SidecarRuntime.PURGE_TOKEN_KEY, java.util.Base64.getEncoder().encodeToString(
            KEY_PLACEHOLDER.getBytes(StandardCharsets.UTF_8))));
        out.add(token);
      }
      out.add(PurgeJob.cronJob(app, plan));
    }
    // Last, as the operator writes it: only once every other child is in place.
    if (plan.exposed() && plan.config().exposure().gatewayMode()) {
      out.add(GatewayRoutes.https(app, plan));
      out.add(GatewayRoutes.redirect(app, plan));
      if (plan.config().gatewayEdgeLimits() == io.safedefaults.microapp.policy.EdgeLimits.ENVOY_GATEWAY) {
        out.add(io.safedefaults.microapp.ratelimit.EnvoyGatewayPolicy.desired(app, plan));
      }
    } else if (plan.exposed()) {
      out.add(IngressTlsDefault.desired(app, plan));
    }
    return out;
  }
}
