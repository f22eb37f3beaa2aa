package io.safedefaults.microapp.kube;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.safedefaults.microapp.api.MicroApp;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Which objects are an app's children. An object is the app's when an owner reference names the
 * app's UID, or when nobody controls it and it carries the labels the operator gives the
 * app's children (left behind by {@code kubectl delete --cascade=orphan}, adopted like a
 * Deployment adopts its ReplicaSets). Anything else with a child's name (another app's child, a
 * built-in object, a team's own Deployment) is never taken over: creating the child fails and
 * status says which object is in the way.
 */
public final class ChildOwnership {
  private ChildOwnership() {}

  /** Raised instead of a write when an object the app does not own holds one of its child names. */
  public static final class NameTaken extends RuntimeException {
    public NameTaken(String kind, String name, String namespace) {
      super("a " + kind + " named '" + name + "' already exists in namespace " + namespace + " and does not belong"
          + " to this app, so the operator will not take it over; rename the MicroApp or remove that " + kind);
    }
  }

  public static boolean belongsTo(HasMetadata child, MicroApp app) {
    List<OwnerReference> refs = Optional.ofNullable(child.getMetadata().getOwnerReferences()).orElse(List.of());
    // The operator's own owner reference (JOSDK writes it without the controller flag) names the
    // app's UID: the child is the app's whatever its labels say now (a hand edit of the app label
    // must be repaired, not turn the app's own Deployment into a stranger's).
    if (app.getMetadata().getUid() != null
        && refs.stream().anyMatch(r -> app.getMetadata().getUid().equals(r.getUid()))) {
      return true;
    }
    Optional<OwnerReference> controller = refs.stream().filter(r -> Boolean.TRUE.equals(r.getController())).findFirst();
    if (controller.isPresent()) {
      return Objects.equals(controller.get().getUid(), app.getMetadata().getUid());
    }
    Map<String, String> labels = Optional.ofNullable(child.getMetadata().getLabels()).orElse(Map.of());
    return Names.MANAGED_BY.equals(labels.get(Names.MANAGED_BY_KEY))
        && app.getMetadata().getName().equals(labels.get(Names.APP_LABEL));
  }

  /**
   * Creates {@code desired} with {@code create} without ever adopting an object that holds its
   * name: a server-side apply naming a resourceVersion creates the object when there is none and
   * fails with 409 Conflict when there is one (a plain create fails with 409 AlreadyExists), and a
   * 409 here means the name is taken by something that is not the app's child.
   */
  public static <R extends HasMetadata> R createOnly(R desired, boolean serverSideApply, UnaryOperator<R> create) {
    if (serverSideApply) {
      desired.getMetadata().setResourceVersion("1");
    }
    try {
      return create.apply(desired);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        throw new NameTaken(desired.getKind(), desired.getMetadata().getName(), desired.getMetadata().getNamespace());
      }
      throw e;
    }
  }
}
