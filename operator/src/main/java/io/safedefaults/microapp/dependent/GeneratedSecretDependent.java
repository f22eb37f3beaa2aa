package io.safedefaults.microapp.dependent;

import io.fabric8.kubernetes.api.model.Secret;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.ChildOwnership;
import io.safedefaults.microapp.kube.Names;
import java.util.Optional;
import java.util.function.Function;

/**
 * A Secret holding generated key material (session keys, the purge token): created once and never
 * updated, because regenerating it on a reconcile would sign everyone out or break the purge job.
 * Deleted with the app through its owner reference.
 */
public class GeneratedSecretDependent extends KubernetesDependentResource<Secret, MicroApp>
    implements Creator<Secret, MicroApp>, GarbageCollected<MicroApp> {
  private final Function<MicroApp, String> nameOf;
  private final Function<MicroApp, Secret> generate;

  public GeneratedSecretDependent(String name, Function<MicroApp, String> nameOf, Function<MicroApp, Secret> generate) {
    super(Secret.class, name);
    this.nameOf = nameOf;
    this.generate = generate;
  }

  @Override
  protected Secret desired(MicroApp app, Context<MicroApp> context) {
    return generate.apply(app);
  }

  /** By id from this dependent's informer cache, as ManagedDependent; only a Secret this app owns is its child. */
  @Override
  public Optional<Secret> getSecondaryResource(MicroApp app, Context<MicroApp> context) {
    return eventSource().flatMap(source -> source.get(targetSecondaryResourceID(app, context)))
        .filter(r -> ChildOwnership.belongsTo(r, app));
  }

  @Override
  public Secret create(Secret desired, MicroApp app, Context<MicroApp> context) {
    return ChildOwnership.createOnly(desired, useSSA(context), d -> super.create(d, app, context));
  }

  @Override
  protected ResourceID targetSecondaryResourceID(MicroApp app, Context<MicroApp> context) {
    return new ResourceID(nameOf.apply(app), app.getMetadata().getNamespace());
  }

  @Override
  protected InformerEventSourceConfiguration.Builder<Secret> informerConfigurationBuilder(
      EventSourceContext<MicroApp> context) {
    return super.informerConfigurationBuilder(context).withLabelSelector(Names.MANAGED_SELECTOR);
  }
}
