package io.safedefaults.microapp.access;

import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.safedefaults.microapp.Names;
import io.safedefaults.microapp.api.MicroApp;

/**
 * One ServiceAccount per app (and one for its purge job), with no token mounted and no RoleBinding
 * anywhere (checklist 7).
 */
public final class AppServiceAccount {
  private AppServiceAccount() {}

  public static ServiceAccount desired(MicroApp app) {
    return desired(app, app.getMetadata().getName());
  }

  public static ServiceAccount desired(MicroApp app, String name) {
    return new ServiceAccountBuilder()
        .withMetadata(Names.metadata(app, name))
        .withAutomountServiceAccountToken(false)
        .build();
  }
}
