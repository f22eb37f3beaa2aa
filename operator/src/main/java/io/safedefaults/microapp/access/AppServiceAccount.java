package io.safedefaults.microapp.access;

import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;

/**
 * One ServiceAccount per app, used by its pods and its purge job's pods, with no token mounted and
 * no RoleBinding anywhere (checklist 7). Neither talks to the API server: the purge job proves
 * itself to the sidecar with its own token, and the NetworkPolicy tells its pods by their label.
 */
public final class AppServiceAccount {
  private AppServiceAccount() {}

  public static ServiceAccount desired(MicroApp app) {
    return new ServiceAccountBuilder()
        .withMetadata(Names.metadata(app, app.getMetadata().getName()))
        .withAutomountServiceAccountToken(false)
        .build();
  }
}
