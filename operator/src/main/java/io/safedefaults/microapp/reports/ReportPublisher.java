package io.safedefaults.microapp.reports;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.APIResourceList;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.OperatorException;
import io.javaoperatorsdk.operator.api.config.informer.InformerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.IndexedResourceCache;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.AbstractEventSource;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.status.CheckResult;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each app's OpenReports Report ({@link ChecklistReport}) equal to its checklist, where the
 * cluster serves openreports.io/v1alpha1 reports; elsewhere it does nothing at all.
 *
 * <ul>
 *   <li>Writes only on a difference: the Report there now comes from a label-selected informer (plus
 *       the answer to our own last apply until the informer has caught up), so a resync of an
 *       unchanged app, or a restart, writes nothing. Writes are server-side applies.
 *   <li>Discovery decides: at start and every {@link #RECHECK} after, so OpenReports installed (or
 *       removed) later is picked up without a restart. When reports appear, every app is
 *       reconciled at once to get its Report.
 *   <li>As an event source it hands a Report edited or deleted by someone else back to its app's
 *       reconcile, which puts it right.
 * </ul>
 *
 * <p>Not a JOSDK dependent resource like the app's children: a dependent's informer is started with
 * the operator and fails it where the CRD does not exist, and cannot start later when it appears.
 */
public class ReportPublisher extends AbstractEventSource<GenericKubernetesResource, MicroApp>
    implements io.javaoperatorsdk.operator.api.config.NamespaceChangeable {
  /** How often discovery is asked again whether reports are served. */
  public static final Duration RECHECK = Duration.ofMinutes(2);
  private static final Logger LOG = LoggerFactory.getLogger(ReportPublisher.class);
  static final ResourceDefinitionContext REPORTS = new ResourceDefinitionContext.Builder()
      .withGroup(ChecklistReport.GROUP).withVersion(ChecklistReport.VERSION).withKind(ChecklistReport.KIND)
      .withPlural(ChecklistReport.PLURAL).withNamespaced(true).build();

  private KubernetesClient client;
  private IndexedResourceCache<MicroApp> apps;
  private Set<String> namespaces = Set.of();
  private String fieldManager = ChecklistReport.SOURCE;
  private ScheduledExecutorService scheduler;
  /** One informer per watched namespace (or one for all); null while reports are not served. */
  private volatile List<SharedIndexInformer<GenericKubernetesResource>> informers;
  /** What our last apply returned, until the informer has seen that version. */
  private final Map<ResourceID, GenericKubernetesResource> written = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.LongAdder builtAndCompared = new java.util.concurrent.atomic.LongAdder();

  /** How often a Report was built and compared in full (not answered from its fingerprint). */
  public long builtAndCompared() {
    return builtAndCompared.sum();
  }

  /** Per Report: the version found equal to what the app's results would write, and those results' digest. */
  private final Map<ResourceID, Fingerprint> unchanged = new ConcurrentHashMap<>();

  /**
   * A Report's resourceVersion and a digest of everything its content is made of (the results,
   * the plan's bounds and overrides, the app's identity and labels). Equal fingerprints: the
   * Report already says it. Any write to the Report changes its version, any change of a result
   * or of the app the digest.
   */
  record Fingerprint(String resourceVersion, long high, long low) {
    static Fingerprint of(GenericKubernetesResource current, MicroApp app, List<CheckResult> checks, AppPlan plan) {
      String version = current.getMetadata().getResourceVersion();
      if (version == null) {
        return null;
      }
      String inputs = String.valueOf(List.of(checks, plan.relaxed(), plan.problems(),
          String.valueOf(app.getMetadata().getUid()), String.valueOf(app.getMetadata().getLabels())));
      try {
        java.nio.ByteBuffer d = java.nio.ByteBuffer.wrap(java.security.MessageDigest.getInstance("SHA-256")
            .digest(inputs.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        return new Fingerprint(version, d.getLong(), d.getLong());
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has SHA-256", e);
      }
    }
  }
  /** The last failure logged per Report, so a lasting one is logged once. */
  private final Map<ResourceID, String> failures = new ConcurrentHashMap<>();
  /** The last discovery failure logged. */
  private volatile String discoveryFailure;

  public ReportPublisher() {
    super(GenericKubernetesResource.class, "openreports");
  }

  /** Takes the client, the namespaces and the field manager of the controller it reports for. */
  public ReportPublisher bind(EventSourceContext<MicroApp> context) {
    this.client = context.getClient();
    this.apps = context.getPrimaryCache();
    this.fieldManager = context.getControllerConfiguration().fieldManager();
    Set<String> watched = context.getControllerConfiguration().getEffectiveNamespaces();
    if (InformerConfiguration.allNamespacesWatched(watched)) {
      this.namespaces = Set.of();
    } else if (InformerConfiguration.currentNamespaceWatched(watched)) {
      this.namespaces = Set.of(client.getNamespace());
    } else {
      this.namespaces = Set.copyOf(watched);
    }
    return this;
  }

  /**
   * Follows the controller's namespaces when they change at run time (a shard taking over or
   * handing over a namespace, NamespaceShard): JOSDK calls this on every event source that can.
   */
  @Override
  public synchronized void changeNamespaces(Set<String> changed) {
    this.namespaces = InformerConfiguration.allNamespacesWatched(changed) ? Set.of() : Set.copyOf(changed);
    if (informers != null) {
      stopInformers();
      informers = startInformers().orElse(null);
    }
  }

  @Override
  public void start() throws OperatorException {
    super.start();
    // Before the first reconcile: with the informer synced, a restart compares and writes nothing.
    refresh();
    scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "openreports-discovery");
      t.setDaemon(true);
      return t;
    });
    scheduler.scheduleWithFixedDelay(this::refreshQuietly, RECHECK.toMillis(), RECHECK.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void stop() throws OperatorException {
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    synchronized (this) {
      stopInformers();
    }
    super.stop();
  }

  /** True while reports are served and their informer runs. */
  public boolean active() {
    return informers != null;
  }

  /**
   * Asks discovery whether reports are served and starts or stops following them. Runs at start and
   * every {@link #RECHECK}; public so a platform test need not wait for the schedule.
   */
  public synchronized void refresh() {
    Optional<Boolean> served = served();
    if (served.isEmpty()) {
      return; // the API server did not answer: keep what we had
    }
    boolean running = informers != null && informers.stream().allMatch(SharedIndexInformer::isRunning);
    if (served.get() && !running) {
      stopInformers();
      Optional<List<SharedIndexInformer<GenericKubernetesResource>>> started = startInformers();
      if (started.isEmpty()) {
        return;
      }
      informers = started.get();
      LOG.info("{} {} are served: each MicroApp gets a Report of its checklist", ChecklistReport.PLURAL,
          ChecklistReport.API_VERSION);
      if (apps != null && getEventHandler() != null) {
        apps.list().forEach(a -> getEventHandler().handleEvent(new Event(ResourceID.fromResource(a))));
      }
    } else if (!served.get()) {
      if (informers != null) {
        LOG.info("{} {} are no longer served: no checklist reports", ChecklistReport.PLURAL, ChecklistReport.API_VERSION);
      } else if (isRunning() && scheduler == null) {
        LOG.info("{} {} are not served (OpenReports not installed): no checklist reports; looking again every {} min",
            ChecklistReport.PLURAL, ChecklistReport.API_VERSION, RECHECK.toMinutes());
      }
      stopInformers();
    }
  }

  private void refreshQuietly() {
    try {
      refresh();
    } catch (RuntimeException e) {
      // the schedule must survive anything: a thrown exception would cancel it
      LOG.debug("checking for {} failed", ChecklistReport.API_VERSION, e);
    }
  }

  /**
   * Applies the app's Report when it differs from the one there; nothing when reports are not
   * served. Never throws for the API's answer: reports are an output, not part of securing the app.
   *
   * @param now when the results were observed (the reconciler's clock)
   */
  public void publish(MicroApp app, List<CheckResult> checks, AppPlan plan, Instant now) {
    if (informers == null) {
      return;
    }
    ResourceID id = new ResourceID(Names.report(app), app.getMetadata().getNamespace());
    GenericKubernetesResource current = current(id);
    // A resync of an unchanged app meets the Report it left, from the same results: answered from
    // the fingerprint, without building the Report and comparing it field by field.
    Fingerprint fingerprint = current == null ? null : Fingerprint.of(current, app, checks, plan);
    if (fingerprint != null && fingerprint.equals(unchanged.get(id))) {
      return;
    }
    builtAndCompared.increment();
    GenericKubernetesResource desired = ChecklistReport.desired(app, checks, plan, current, now);
    if (current != null && matches(desired, current)) {
      unchanged.put(id, fingerprint);
      return;
    }
    unchanged.remove(id);
    if (current != null && !io.safedefaults.microapp.kube.ChildOwnership.belongsTo(current, app)) {
      return; // another app's report under this name: never taken over
    }
    try {
      var apply = (java.util.function.UnaryOperator<GenericKubernetesResource>) d -> client
          .genericKubernetesResources(REPORTS).inNamespace(id.getNamespace().orElseThrow()).resource(d)
          .fieldManager(fieldManager).forceConflicts().serverSideApply();
      // Not in the cache: created only if the name is free, never adopting a Report someone else wrote.
      GenericKubernetesResource applied = current == null
          ? io.safedefaults.microapp.kube.ChildOwnership.createOnly(desired, true, apply) : apply.apply(desired);
      written.put(id, applied);
      failures.remove(id);
    } catch (io.safedefaults.microapp.kube.ChildOwnership.NameTaken e) {
      if (!e.getMessage().equals(failures.put(id, e.getMessage()))) {
        LOG.warn("not writing the checklist report {}/{}: {}", id.getNamespace().orElse(""), id.getName(), e.getMessage());
      }
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        // the CRD went since discovery was last asked (or the namespace is gone): ask again now
        LOG.debug("applying report {} answered 404", id);
        refreshQuietly();
        return;
      }
      if (goingAway(e)) {
        // The CRD or the namespace is being deleted (the API refuses new objects meanwhile): the
        // Report would go with it. Discovery notices the CRD gone; nothing to warn about.
        LOG.debug("not applying report {}: {}", id, e.getMessage());
        return;
      }
      String why = "HTTP " + e.getCode() + (e.getStatus() != null && e.getStatus().getMessage() != null
          ? ": " + e.getStatus().getMessage() : "");
      if (!why.equals(failures.put(id, why))) {
        LOG.warn("could not apply the checklist report {}/{}: {}", id.getNamespace().orElse(""), id.getName(), why);
      }
    }
  }

  /** The API's refusal of new objects while their CRD or their namespace is being deleted. */
  static boolean goingAway(KubernetesClientException e) {
    var status = e.getStatus();
    if (e.getCode() != 403 || status == null) {
      return false;
    }
    boolean crdTerminating = status.getMessage() != null
        && status.getMessage().contains("custom resource definition is terminating");
    boolean namespaceTerminating = status.getDetails() != null && status.getDetails().getCauses() != null
        && status.getDetails().getCauses().stream().anyMatch(c -> "NamespaceTerminating".equals(c.getReason()));
    return crdTerminating || namespaceTerminating;
  }

  @Override
  public Set<GenericKubernetesResource> getSecondaryResources(MicroApp app) {
    GenericKubernetesResource r = informers == null ? null
        : current(new ResourceID(Names.report(app), app.getMetadata().getNamespace()));
    return r == null ? Set.of() : Set.of(r);
  }

  /** What is there now: our last apply's answer until the informer has it, else the informer's copy. */
  private GenericKubernetesResource current(ResourceID id) {
    GenericKubernetesResource mine = written.get(id);
    if (mine != null) {
      return mine;
    }
    var all = informers;
    if (all == null) {
      return null;
    }
    String key = id.getNamespace().orElseThrow() + "/" + id.getName();
    return all.stream().map(i -> i.getStore().getByKey(key)).filter(Objects::nonNull).findFirst().orElse(null);
  }

  /** Whether the Report there already says what we would write (only the fields we own count). */
  static boolean matches(GenericKubernetesResource desired, GenericKubernetesResource current) {
    Map<String, String> labels = current.getMetadata().getLabels();
    if (labels == null || !labels.entrySet().containsAll(desired.getMetadata().getLabels().entrySet())) {
      return false;
    }
    if (current.getMetadata().getOwnerReferences() == null
        || !current.getMetadata().getOwnerReferences().containsAll(desired.getMetadata().getOwnerReferences())) {
      return false;
    }
    for (String field : List.of("source", "scope", "summary", "results")) {
      if (!tree(desired.getAdditionalProperties().get(field)).equals(tree(current.getAdditionalProperties().get(field)))) {
        return false;
      }
    }
    return true;
  }

  /** Through JSON text and back, so 5 read as an int equals 5 built as a long. */
  private static JsonNode tree(Object value) {
    try {
      return Serialization.jsonMapper().readTree(Serialization.asJson(value));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("a value read as JSON is JSON", e);
    }
  }

  /** Empty when discovery could not be asked. */
  private Optional<Boolean> served() {
    try {
      APIResourceList list = client.getApiResources(ChecklistReport.API_VERSION);
      discoveryFailure = null;
      return Optional.of(list != null && list.getResources() != null
          && list.getResources().stream().anyMatch(r -> ChecklistReport.PLURAL.equals(r.getName())));
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return Optional.of(false);
      }
      String why = "HTTP " + e.getCode() + " " + e.getMessage();
      if (!why.equals(discoveryFailure)) {
        discoveryFailure = why;
        LOG.info("could not ask discovery whether {} is served ({}); trying again in {} min",
            ChecklistReport.API_VERSION, why, RECHECK.toMinutes());
      }
      return Optional.empty();
    }
  }

  private Optional<List<SharedIndexInformer<GenericKubernetesResource>>> startInformers() {
    List<SharedIndexInformer<GenericKubernetesResource>> started = new ArrayList<>();
    try {
      for (String ns : namespaces.isEmpty() ? List.of("") : List.copyOf(namespaces)) {
        var reports = client.genericKubernetesResources(REPORTS);
        var selected = ns.isEmpty() ? reports.inAnyNamespace().withLabelSelector(Names.MANAGED_SELECTOR)
            : reports.inNamespace(ns).withLabelSelector(Names.MANAGED_SELECTOR);
        SharedIndexInformer<GenericKubernetesResource> informer = selected.runnableInformer(0);
        // 404: the CRD was removed; 403: RBAC does not allow reports. Stop, and let discovery decide.
        informer.exceptionHandler((isStarted, t) -> !(t instanceof KubernetesClientException k
            && (k.getCode() == 404 || k.getCode() == 403)));
        informer.addEventHandler(new Changes());
        started.add(informer);
        informer.start().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      discoveryFailure = null;
      return Optional.of(started);
    } catch (Exception e) {
      started.forEach(SharedIndexInformer::stop);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
      String why = cause instanceof KubernetesClientException k ? "HTTP " + k.getCode() : cause.getClass().getSimpleName();
      if (!why.equals(discoveryFailure)) {
        discoveryFailure = why;
        LOG.warn("{} {} are served but cannot be listed and watched ({}); no checklist reports until they can"
            + " (the chart's RBAC grants list, watch, create and patch on them)", ChecklistReport.PLURAL,
            ChecklistReport.API_VERSION, why);
      }
      return Optional.empty();
    }
  }

  private void stopInformers() {
    var all = informers;
    informers = null;
    written.clear();
    unchanged.clear();
    if (all != null) {
      all.forEach(SharedIndexInformer::stop);
    }
  }

  /** Reports changed by anyone: ours when the informer catches up, others' go to the app's reconcile. */
  private final class Changes implements ResourceEventHandler<GenericKubernetesResource> {
    @Override
    public void onAdd(GenericKubernetesResource r) {
      changed(r, false);
    }

    @Override
    public void onUpdate(GenericKubernetesResource before, GenericKubernetesResource r) {
      changed(r, false);
    }

    @Override
    public void onDelete(GenericKubernetesResource r, boolean finalStateUnknown) {
      changed(r, true);
    }

    private void changed(GenericKubernetesResource r, boolean deleted) {
      ResourceID id = ResourceID.fromResource(r);
      GenericKubernetesResource mine = written.get(id);
      if (!deleted && mine != null && !newer(r, mine)) {
        if (Objects.equals(r.getMetadata().getResourceVersion(), mine.getMetadata().getResourceVersion())) {
          written.remove(id, mine); // the informer has our write now
        }
        return; // our write, or one from before it
      }
      written.remove(id);
      if (deleted) {
        unchanged.remove(id); // a deleted Report leaves no entry behind (a new one has another version anyway)
      }
      String app = r.getMetadata().getLabels() == null ? null : r.getMetadata().getLabels().get(Names.APP_LABEL);
      if (app != null && getEventHandler() != null && isRunning()) {
        getEventHandler().handleEvent(new Event(new ResourceID(app, r.getMetadata().getNamespace())));
      }
    }
  }

  /**
   * Whether {@code r} is a later version than {@code mine}. resourceVersions are opaque by contract,
   * but every API server backed by etcd hands out its revision, which only grows; where one does not
   * parse, anything other than our own version counts as later.
   */
  private static boolean newer(GenericKubernetesResource r, GenericKubernetesResource mine) {
    String a = r.getMetadata().getResourceVersion();
    String b = mine.getMetadata().getResourceVersion();
    if (Objects.equals(a, b)) {
      return false;
    }
    try {
      return Long.parseLong(a) > Long.parseLong(b);
    } catch (NumberFormatException e) {
      return true;
    }
  }
}
