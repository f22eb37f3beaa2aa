package io.safedefaults.microapp.dependent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.dependent.Matcher;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.ChildOwnership;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * A child resource kept equal to a pure {@code desired(app, plan)} function. Created, updated and
 * compared with server-side apply (JOSDK's default), owned by the MicroApp so deleting the app
 * garbage-collects it, and cached through a label-selected informer so the operator never caches
 * objects it does not manage.
 */
public class ManagedDependent<R extends HasMetadata> extends CRUDKubernetesDependentResource<R, MicroApp> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ManagedDependent.class);
  /** Key of the app's plan in the reconcile context: resolved once per reconcile by the reconciler. */
  public static final String PLAN = "plan";
  private final BiFunction<MicroApp, AppPlan, R> desired;
  private final Function<MicroApp, String> nameOf;
  /**
   * Per child: the resourceVersion it had and a digest of the desired state it was found equal to
   * by the last full match. Most reconciles (a resync, another child's event, a status change of
   * the Deployment) meet a child that has not changed since, with the same desired state: then the
   * answer is known and the full match (server-side apply's, which converts both objects to maps
   * and walks the managed fields) is skipped. Any change to the child gives it a new
   * resourceVersion, any change to the app or the policy a new desired state: both match in full.
   */
  private final Map<ResourceID, Fingerprint> matched = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.LongAdder fullMatches = new java.util.concurrent.atomic.LongAdder();
  private volatile long lastSweep = System.nanoTime();
  private static final long SWEEP_NANOS = java.time.Duration.ofMinutes(1).toNanos();

  private record Fingerprint(String resourceVersion, long digestHigh, long digestLow) {}

  /**
   * Whether the child holds nothing beyond the desired state in the lists the operator owns alone
   * (a Service's ports); null: no such list. Server-side apply keeps entries another manager
   * added there, and its match does not see them.
   */
  private volatile java.util.function.BiPredicate<R, R> ownsListsAlone;

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

  /**
   * Names lists of this child only the operator may fill: an entry another manager added there is
   * drift (a second Service port would reach the app past the sidecar's), repaired by replacing
   * the child with its desired state.
   */
  public ManagedDependent<R> ownsListsAlone(java.util.function.BiPredicate<R, R> onlyDesiredEntries) {
    this.ownsListsAlone = onlyDesiredEntries;
    return this;
  }

  private boolean foreignEntries(R actual, R desired) {
    return ownsListsAlone != null && !ownsListsAlone.test(actual, desired);
  }

  @Override
  public Matcher.Result<R> match(R actual, R desired, MicroApp app, Context<MicroApp> context) {
    if (foreignEntries(actual, desired)) {
      fullMatches.increment(); // compared, and found different
      matched.remove(ResourceID.fromResource(actual));
      return Matcher.Result.computed(false, desired);
    }
    String version = version(actual);
    if (version == null) {
      return super.match(actual, desired, app, context);
    }
    ResourceID id = ResourceID.fromResource(actual);
    Fingerprint last = matched.get(id);
    // Serialising the desired state is not free: only when the fingerprint can answer, or is kept.
    // Both digests are of the desired state as the full match sees it (with the owner reference).
    if (last != null && last.resourceVersion().equals(version)) {
      addMetadata(true, actual, desired, app, context);
      if (last.equals(fingerprint(version, context.getClient().getKubernetesSerialization().asJson(desired)))) {
        return Matcher.Result.computed(true, desired);
      }
    }
    fullMatches.increment();
    Matcher.Result<R> result = super.match(actual, desired, app, context);
    if (result.matched()) {
      matched.put(id, fingerprint(version, context.getClient().getKubernetesSerialization().asJson(desired)));
    } else {
      matched.remove(id);
    }
    sweep();
    return result;
  }

  /**
   * What must stay the same for a remembered match to hold: the child's resourceVersion; for a
   * Deployment its generation (raised by every change of its spec, scale included, not by the
   * status kube-controller-manager keeps writing: about four writes per app while pods start, each
   * of which used to cost a full match of the largest child) and its metadata as a digest.
   */
  static String version(HasMetadata actual) {
    ObjectMeta m = actual.getMetadata();
    if (m.getResourceVersion() == null) {
      return null;
    }
    if (!(actual instanceof io.fabric8.kubernetes.api.model.apps.Deployment) || m.getGeneration() == null) {
      return m.getResourceVersion();
    }
    Fingerprint meta = fingerprint("", String.valueOf(java.util.Arrays.asList(m.getLabels(), m.getAnnotations(),
        m.getOwnerReferences(), m.getFinalizers(), m.getDeletionTimestamp())));
    return "g" + m.getGeneration() + "|" + Long.toHexString(meta.digestHigh()) + Long.toHexString(meta.digestLow());
  }

  /** How often an existing child was compared in full with its desired state (not answered from its fingerprint). */
  public long fullMatches() {
    return fullMatches.sum();
  }

  /** Forgets children that are gone (deleted apps), at most once a minute. */
  private void sweep() {
    long now = System.nanoTime();
    if (now - lastSweep < SWEEP_NANOS) {
      return;
    }
    lastSweep = now;
    eventSource().ifPresent(source -> matched.keySet().removeIf(id -> source.get(id).isEmpty()));
  }

  static Fingerprint fingerprint(String resourceVersion, String desiredJson) {
    try {
      ByteBuffer digest = ByteBuffer.wrap(MessageDigest.getInstance("SHA-256")
          .digest(desiredJson.getBytes(StandardCharsets.UTF_8)));
      return new Fingerprint(resourceVersion, digest.getLong(), digest.getLong());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /**
   * The child by its id, straight from this dependent's informer cache (which answers with our own
   * latest write until the informer has caught up). JOSDK's default gathers every object of the
   * type from every event source of the type that points at the app, then picks one by id: that
   * was a visible share of each reconcile, done several times a reconcile. Only an object this app
   * owns is its child; see ChildOwnership.
   */
  @Override
  public Optional<R> getSecondaryResource(MicroApp app, Context<MicroApp> context) {
    return eventSource().flatMap(source -> source.get(targetSecondaryResourceID(app, context)))
        .filter(r -> ChildOwnership.belongsTo(r, app));
  }

  /** Creation never adopts an object that exists under the child's name: it fails instead. */
  @Override
  public R create(R desired, MicroApp app, Context<MicroApp> context) {
    return ChildOwnership.createOnly(desired, useSSA(context), d -> super.create(d, app, context));
  }

  /**
   * Server-side apply keeps list entries another field manager added; when they collide with ours
   * (a Service's ports list replaced by hand leaves a foreign port named like ours) every apply is
   * refused as invalid (422) and the child would stay drifted for good. Then the child is replaced
   * once with a plain update of the desired state, locked to the version read, which drops the
   * foreign entries; the next apply finds its own fields again.
   */
  @Override
  public R update(R actual, R desired, MicroApp app, Context<MicroApp> context) {
    if (foreignEntries(actual, desired)) {
      return replace(actual, desired, app, context, "a list the operator owns alone holds entries other than its own");
    }
    try {
      return super.update(actual, desired, app, context);
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      if (e.getCode() != 422) {
        throw e;
      }
      return replace(actual, desired, app, context, "apply refused as invalid ("
          + (e.getStatus() == null ? "HTTP 422" : e.getStatus().getReason()) + ")");
    }
  }

  /** A plain update to exactly the desired state, locked to the version read (a 409 retries the reconcile). */
  private R replace(R actual, R desired, MicroApp app, Context<MicroApp> context, String why) {
    LOG.info("{} {}/{}: {}; replacing it with its desired state", actual.getKind(), actual.getMetadata().getNamespace(),
        actual.getMetadata().getName(), why);
    desired.addOwnerReference(app);
    desired.getMetadata().setResourceVersion(actual.getMetadata().getResourceVersion());
    desired.getMetadata().setManagedFields(null);
    matched.remove(ResourceID.fromResource(actual));
    return context.getClient().resource(desired).inNamespace(actual.getMetadata().getNamespace()).update();
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
