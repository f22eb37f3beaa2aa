package io.safedefaults.microapp.tls;

import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.IngressFlavor;
import io.safedefaults.microapp.ratelimit.EdgeRateLimit;
import io.safedefaults.microapp.workload.AppService;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The only way in from outside: a TLS Ingress for the app's host, its certificate requested from
 * cert-manager, plain HTTP redirected to HTTPS (checklist 5), edge rate limits (checklist 4).
 * Annotations are built here from typed values only: none is copied from the MicroApp, and no
 * snippet annotation is ever written. HSTS comes from the sidecar, because ingress-nginx can only
 * set it globally.
 */
public final class IngressTlsDefault {
  public static final String CLUSTER_ISSUER = "cert-manager.io/cluster-issuer";
  public static final String TRAEFIK = "traefik.ingress.kubernetes.io/";

  private IngressTlsDefault() {}

  public static Ingress desired(MicroApp app, AppPlan plan) {
    IngressFlavor flavor = plan.config().ingressFlavor();
    return new IngressBuilder()
        .withNewMetadataLike(Names.metadata(app, app.getMetadata().getName()))
        .withAnnotations(annotations(plan, flavor))
        .endMetadata()
        .withNewSpec()
        .withIngressClassName(plan.config().ingressClassName())
        .addNewTl().withHosts(plan.host()).withSecretName(Names.tlsSecret(app)).endTl()
        .addNewRule()
        .withHost(plan.host())
        .withNewHttp()
        .addNewPath()
        .withPath("/")
        .withPathType("Prefix")
        .withNewBackend()
        .withNewService()
        .withName(app.getMetadata().getName())
        .withNewPort().withName(AppService.PORT_NAME).endPort()
        .endService()
        .endBackend()
        .endPath()
        .endHttp()
        .endRule()
        .endSpec()
        .build();
  }

  static Map<String, String> annotations(AppPlan plan, IngressFlavor flavor) {
    Map<String, String> a = new LinkedHashMap<>();
    a.put(CLUSTER_ISSUER, plan.config().clusterIssuer());
    a.putAll(redirect(flavor));
    a.putAll(EdgeRateLimit.annotations(plan, flavor));
    return a;
  }

  /** Forced HTTPS: nginx redirects, Traefik serves the router on the TLS entrypoint only. */
  static Map<String, String> redirect(IngressFlavor flavor) {
    Map<String, String> a = new LinkedHashMap<>();
    switch (flavor) {
      case NGINX -> {
        a.put(EdgeRateLimit.NGINX + "ssl-redirect", "true");
        a.put(EdgeRateLimit.NGINX + "force-ssl-redirect", "true");
      }
      case TRAEFIK -> {
        a.put(TRAEFIK + "router.entrypoints", "websecure");
        a.put(TRAEFIK + "router.tls", "true");
      }
    }
    return a;
  }

  /** Whether an observed Ingress still enforces TLS for the plan's host (used for status). */
  public static boolean enforces(Ingress observed, AppPlan plan) {
    if (observed == null || observed.getSpec() == null || observed.getSpec().getTls() == null) {
      return false;
    }
    Map<String, String> ann = observed.getMetadata().getAnnotations();
    boolean hostCovered = observed.getSpec().getTls().stream()
        .anyMatch(t -> t.getHosts() != null && t.getHosts().contains(plan.host()) && t.getSecretName() != null);
    boolean redirects = ann != null && redirect(plan.config().ingressFlavor()).entrySet().stream()
        .allMatch(e -> e.getValue().equals(ann.get(e.getKey())));
    boolean issuer = ann != null && plan.config().clusterIssuer() != null
        && plan.config().clusterIssuer().equals(ann.get(CLUSTER_ISSUER));
    return hostCovered && redirects && issuer;
  }
}
