package io.safedefaults.microapp.auth;

import io.fabric8.kubernetes.api.model.Secret;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.safedefaults.microapp.Names;
import io.safedefaults.microapp.api.MicroApp;

/**
 * Creates the session keyset once and never updates it: a generated key must not be replaced on
 * every reconcile (that would sign everyone out). Deleted with the app through its owner reference.
 */
public class SessionKeysDependent extends KubernetesDependentResource<Secret, MicroApp>
    implements Creator<Secret, MicroApp>, GarbageCollected<MicroApp> {

  public SessionKeysDependent() {
    super(Secret.class, "session-keys");
  }

  @Override
  protected Secret desired(MicroApp app, Context<MicroApp> context) {
    return SessionKeys.desired(app);
  }

  @Override
  protected ResourceID targetSecondaryResourceID(MicroApp app, Context<MicroApp> context) {
    return new ResourceID(Names.sessionKeysSecret(app), app.getMetadata().getNamespace());
  }

  @Override
  protected InformerEventSourceConfiguration.Builder<Secret> informerConfigurationBuilder(
      EventSourceContext<MicroApp> context) {
    return super.informerConfigurationBuilder(context).withLabelSelector(Names.MANAGED_SELECTOR);
  }
}
