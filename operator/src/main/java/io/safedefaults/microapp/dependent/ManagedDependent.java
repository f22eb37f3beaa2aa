package io.safedefaults.microapp.dependent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.ChildOwnership;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * A child resource kept equal to a pure {@code desired(app, plan)} function. Created, updated and
 * compared with server-side apply (JOSDK's default), owned by the MicroApp so deleting the app
 * garbage-collects it, and cached through a label-selected informer so the operator never caches
 * objects it does not manage.
 */
public class ManagedDependent<R extends HasMetadata> extends CRUDKubernetesDependentResource<R, MicroApp> {
  /** Key of the app's plan in the reconcile context: resolved once per reconcile by the reconciler. */
  public static final String PLAN = "plan";
  private final BiFunction<MicroApp, AppPlan, R> desired;
  private final Function<MicroApp, String> nameOf;

  public ManagedDependent(Class<R> type, String name,
      Function<MicroApp, String> nameOf, BiFunction<MicroApp, AppPlan, R> desired) {
    super(type, name);
    this.nameOf = nameOf;
    this.desired = desired;
  }

  /** For subclasses whose desired state needs more than the plan: they override desired(app, context). */
  protected ManagedDependent(Class<R> type, String name, Function<MicroApp, String> nameOf) {
    this(type, name, nameOf, null);
  }

  /**
   * A child built from the plan and what else the reconciler computed once for this reconcile and
   * put into the context beside it (the sidecar configuration), so no dependent computes it again.
   */
  public static <R extends HasMetadata> ManagedDependent<R> fromContext(Class<R> type, String name,
      Function<MicroApp, String> nameOf, BiFunction<MicroApp, Context<MicroApp>, R> desired) {
    return new ManagedDependent<>(type, name, nameOf) {
      @Override
      protected R desired(MicroApp app, Context<MicroApp> context) {
        return desired.apply(app, context);
      }
    };
  }

  @Override
  protected R desired(MicroApp app, Context<MicroApp> context) {
    return desired.apply(app, plan(context));
  }

  /** The plan the reconciler resolved for this reconcile (the app against its namespace's policy). */
  public static AppPlan plan(Context<MicroApp> context) {
    return context.managedWorkflowAndDependentResourceContext().getMandatory(PLAN, AppPlan.class);
  }

  /** Only an object this app owns is its child; see ChildOwnership. */
  @Override
  public Optional<R> getSecondaryResource(MicroApp app, Context<MicroApp> context) {
    return super.getSecondaryResource(app, context).filter(r -> ChildOwnership.belongsTo(r, app));
  }

  /** Creation never adopts an object that exists under the child's name: it fails instead. */
  @Override
  public R create(R desired, MicroApp app, Context<MicroApp> context) {
    return ChildOwnership.createOnly(desired, useSSA(context), d -> super.create(d, app, context));
  }

  /** The child's id without computing desired state. */
  @Override
  protected ResourceID targetSecondaryResourceID(MicroApp app, Context<MicroApp> context) {
    return new ResourceID(nameOf.apply(app), app.getMetadata().getNamespace());
  }

  @Override
  protected InformerEventSourceConfiguration.Builder<R> informerConfigurationBuilder(
      EventSourceContext<MicroApp> context) {
    return super.informerConfigurationBuilder(context).withLabelSelector(Names.MANAGED_SELECTOR);
  }
}
