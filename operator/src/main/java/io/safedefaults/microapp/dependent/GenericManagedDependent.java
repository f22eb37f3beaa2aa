package io.safedefaults.microapp.dependent;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.GroupVersionKind;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.dependent.Matcher;
import io.javaoperatorsdk.operator.processing.dependent.Updater;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.GenericKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.GroupVersionKindPlural;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.ChildOwnership;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * {@link ManagedDependent} for a kind the operator has no Java class for (another project's CRD,
 * e.g. Envoy Gateway's BackendTrafficPolicy), addressed by group, version, kind and plural so no
 * discovery is needed. JOSDK's GenericKubernetesDependentResource can only read; this one creates
 * and updates with server-side apply, is owned by the MicroApp (garbage-collected with it), never
 * adopts an object it did not create, and caches only label-selected objects.
 */
public class GenericManagedDependent extends GenericKubernetesDependentResource<MicroApp>
    implements Creator<GenericKubernetesResource, MicroApp>, Updater<GenericKubernetesResource, MicroApp>,
    GarbageCollected<MicroApp> {
  private final BiFunction<MicroApp, AppPlan, GenericKubernetesResource> desired;
  private final Function<MicroApp, String> nameOf;
  private final BiPredicate<GenericKubernetesResource, GenericKubernetesResource> matches;

  /**
   * @param matches whether an observed object (first) says what the desired one (second) says: the
   *     kind's own comparison, because server-side defaults inside atomic lists of another project's
   *     CRD differ between its versions and JOSDK's apply matcher would count them as drift
   */
  public GenericManagedDependent(String group, String version, String kind, String plural, String name,
      Function<MicroApp, String> nameOf, BiFunction<MicroApp, AppPlan, GenericKubernetesResource> desired,
      BiPredicate<GenericKubernetesResource, GenericKubernetesResource> matches) {
    super(GroupVersionKindPlural.gvkWithPlural(new GroupVersionKind(group, version, kind), plural), name);
    this.nameOf = nameOf;
    this.desired = desired;
    this.matches = matches;
  }

  @Override
  public Matcher.Result<GenericKubernetesResource> match(GenericKubernetesResource actual, MicroApp app,
      Context<MicroApp> context) {
    GenericKubernetesResource want = desired(app, context);
    return Matcher.Result.computed(matches.test(actual, want), want);
  }

  @Override
  protected GenericKubernetesResource desired(MicroApp app, Context<MicroApp> context) {
    return desired.apply(app, ManagedDependent.plan(context));
  }

  /** Only an object this app owns is its child; see ChildOwnership. */
  @Override
  public Optional<GenericKubernetesResource> getSecondaryResource(MicroApp app, Context<MicroApp> context) {
    return super.getSecondaryResource(app, context).filter(r -> ChildOwnership.belongsTo(r, app));
  }

  /** Creation never adopts an object that exists under the child's name: it fails instead. */
  @Override
  public GenericKubernetesResource create(GenericKubernetesResource desired, MicroApp app, Context<MicroApp> context) {
    return ChildOwnership.createOnly(desired, useSSA(context), d -> super.create(d, app, context));
  }

  @Override
  protected ResourceID targetSecondaryResourceID(MicroApp app, Context<MicroApp> context) {
    return new ResourceID(nameOf.apply(app), app.getMetadata().getNamespace());
  }

  @Override
  protected InformerEventSourceConfiguration.Builder<GenericKubernetesResource> informerConfigurationBuilder(
      EventSourceContext<MicroApp> context) {
    return super.informerConfigurationBuilder(context).withLabelSelector(Names.MANAGED_SELECTOR);
  }
}
