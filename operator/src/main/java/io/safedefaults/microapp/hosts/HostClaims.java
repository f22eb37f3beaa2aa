package io.safedefaults.microapp.hosts;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.Problem;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A hostname belongs to one MicroApp cluster-wide: the first to claim it. A claim is a Lease named
 * after the host in the operator's namespace; the API server creates an object of a given name once,
 * so two apps (or two operator replicas, or an operator before and after a restart) can never both
 * hold it. Another app gets the host only when the holder no longer claims it (deleted, or its host
 * changed) and no Ingress or HTTPRoute of the holder serves it any more: there is no moment with two apps
 * exposed on one host.
 */
public final class HostClaims {
  public static final String CLAIM_LABEL = "safedefaults.io/host-claim";
  public static final String HOST_ANNOTATION = "safedefaults.io/host";
  private static final String PREFIX = "microapp-host-";

  private final String namespace;
  /** Hosts this process knows it holds, per app uid: no API call on the common path. */
  private final Map<String, Set<String>> held = new ConcurrentHashMap<>();
  /** The namespace of each app uid in {@link #held}. */
  private final Map<String, String> namespaceOf = new ConcurrentHashMap<>();

  /** @param namespace where the claims live: the operator's own namespace */
  public HostClaims(String namespace) {
    this.namespace = Objects.requireNonNull(namespace);
  }

  /** The claim's name: {@code microapp-host-} and 40 hex digits of the host's SHA-256. */
  public static String leaseName(String host) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(host.getBytes(StandardCharsets.UTF_8));
      return PREFIX + HexFormat.of().formatHex(d).substring(0, 40);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String holderOf(MicroApp app) {
    return app.getMetadata().getNamespace() + "/" + app.getMetadata().getName() + "/" + app.getMetadata().getUid();
  }

  /**
   * Claims {@code host} for the app, or says who holds it.
   *
   * @return empty when the app holds the host; otherwise the problem that keeps it unexposed
   */
  public Optional<Problem> claim(KubernetesClient client, MicroApp app, String host) {
    String uid = app.getMetadata().getUid();
    if (held.getOrDefault(uid, Set.of()).contains(host)) {
      return Optional.empty();
    }
    var leases = client.leases().inNamespace(namespace);
    Lease lease = leases.withName(leaseName(host)).get();
    if (lease == null) {
      try {
        leases.resource(claimFor(app, host, null)).create();
        return owned(app, host);
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        lease = leases.withName(leaseName(host)).get(); // created by another claimant just now
        if (lease == null) {
          return Optional.of(taken(host, "another app", true));
        }
      }
    }
    String holder = lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
    if (holderOf(app).equals(holder)) {
      return owned(app, host);
    }
    String[] h = holder == null ? new String[0] : holder.split("/", 3);
    if (h.length == 3 && stillClaims(client, h[0], h[1], h[2], host)) {
      return Optional.of(taken(host, "namespace " + h[0], false));
    }
    if (h.length == 3 && stillServes(client, h[0], h[1], host)) {
      return Optional.of(taken(host, "namespace " + h[0] + " (its Ingress or HTTPRoutes are being removed)", true));
    }
    try {
      // Optimistic locking: of two apps taking over a released host, one update wins.
      leases.resource(claimFor(app, host, lease.getMetadata().getResourceVersion())).update();
      return owned(app, host);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409 || e.getCode() == 404) {
        return Optional.of(taken(host, "another app", true));
      }
      throw e;
    }
  }

  /**
   * Gives up the hosts the app holds other than {@code keep} (null: all). Call only once the app's
   * Ingress no longer serves them. A claim another app has taken since is left alone.
   */
  public void release(KubernetesClient client, MicroApp app, String keep) {
    String uid = app.getMetadata().getUid();
    Set<String> mine = held.getOrDefault(uid, Set.of());
    for (String host : Set.copyOf(mine)) {
      if (host.equals(keep)) {
        continue;
      }
      var ref = client.leases().inNamespace(namespace).withName(leaseName(host));
      Lease lease = ref.get();
      if (lease != null && lease.getSpec() != null && holderOf(app).equals(lease.getSpec().getHolderIdentity())) {
        try {
          client.leases().inNamespace(namespace).resource(lease).lockResourceVersion().delete();
        } catch (KubernetesClientException e) {
          if (e.getCode() != 409 && e.getCode() != 404) {
            throw e;
          }
        }
      }
      mine.remove(host);
    }
  }

  /** Forgets apps that no longer exist (their claims are taken over as described above). */
  public void retain(Set<String> uids) {
    held.keySet().retainAll(uids);
    namespaceOf.keySet().retainAll(uids);
  }

  /**
   * Forgets what this process knows of the apps of a namespace another operator shard now
   * reconciles: meanwhile that shard may release their hosts and another app take them, so if the
   * namespace comes back, every claim is read from the API server again.
   */
  public void forgetNamespace(String namespace) {
    namespaceOf.entrySet().removeIf(e -> {
      if (e.getValue().equals(namespace)) {
        held.remove(e.getKey());
        return true;
      }
      return false;
    });
  }

  private Optional<Problem> owned(MicroApp app, String host) {
    String uid = app.getMetadata().getUid();
    namespaceOf.put(uid, app.getMetadata().getNamespace());
    held.computeIfAbsent(uid, u -> ConcurrentHashMap.newKeySet()).add(host);
    return Optional.empty();
  }

  private static boolean stillClaims(KubernetesClient client, String ns, String name, String uid, String host) {
    MicroApp holder = client.resources(MicroApp.class).inNamespace(ns).withName(name).get();
    return holder != null && uid.equals(holder.getMetadata().getUid()) && holder.getMetadata().getDeletionTimestamp() == null
        && holder.getSpec() != null && host.equals(holder.getSpec().getHost());
  }

  /**
   * True while an Ingress or an HTTPRoute of the former holder still routes the host (the garbage
   * collector is on its way). Both kinds are asked whatever the exposure now is: a holder that was
   * switched between ingress and gateway mode may still have the other kind. Where the cluster does
   * not serve HTTPRoutes, asking for one answers "none".
   */
  private static boolean stillServes(KubernetesClient client, String ns, String name, String host) {
    Ingress ingress = client.network().v1().ingresses().inNamespace(ns).withName(name).get();
    if (ingress != null && ingress.getSpec() != null && ingress.getSpec().getRules() != null
        && ingress.getSpec().getRules().stream().anyMatch(r -> host.equals(r.getHost()))) {
      return true;
    }
    for (String route : List.of(name + Names.HTTPS_ROUTE_SUFFIX, name + Names.REDIRECT_ROUTE_SUFFIX)) {
      HTTPRoute r = httpRoute(client, ns, route);
      if (r != null && r.getSpec() != null && r.getSpec().getHostnames() != null
          && r.getSpec().getHostnames().contains(host)) {
        return true;
      }
    }
    return false;
  }

  private static HTTPRoute httpRoute(KubernetesClient client, String ns, String name) {
    try {
      return client.resources(HTTPRoute.class).inNamespace(ns).withName(name).get();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return null; // the API server does not serve the kind at all
      }
      throw e;
    }
  }

  private Lease claimFor(MicroApp app, String host, String resourceVersion) {
    return new LeaseBuilder().withNewMetadata().withName(leaseName(host)).withNamespace(namespace)
        .withResourceVersion(resourceVersion)
        .addToLabels(Names.MANAGED_BY_KEY, Names.MANAGED_BY).addToLabels(CLAIM_LABEL, "true")
        .addToAnnotations(HOST_ANNOTATION, host)
        .endMetadata()
        .withNewSpec().withHolderIdentity(holderOf(app)).endSpec()
        .build();
  }

  /**
   * @param settling true when the host is about to be free: the caller retries soon
   */
  private static Problem taken(String host, String byWhom, boolean settling) {
    return new Problem(Problem.Area.HOST, settling ? "HostSettling" : "HostTaken", "spec.host " + host
        + " belongs to a MicroApp in " + byWhom + ", which claimed it first; "
        + (settling ? "this app gets it as soon as that app's claim is gone"
            : "choose another host, or ask that team to release it (this app gets it when they do)"), true);
  }
}
