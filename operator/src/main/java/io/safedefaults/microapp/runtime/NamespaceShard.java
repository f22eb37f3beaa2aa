package io.safedefaults.microapp.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.api.reconciler.RetryInfo;
import io.javaoperatorsdk.operator.processing.Controller;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.safedefaults.microapp.kube.Names;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One operator instance's share of the cluster: the namespaces its label selector matches, each
 * held through a claim so that no two shards ever write in one namespace, and none is left without
 * an operator for longer than a handover takes (README, "Running more than one operator (shards)").
 *
 * <p>The claim of a namespace is a Lease {@code microapp-namespace-<namespace>} in the namespace
 * every shard shares (the sealing keys' namespace, beside the host claims), holding the identity of
 * the shard's leader-election Lease ({@code <namespace>/<name>}). A shard writes in a namespace only
 * while it holds the claim:
 *
 * <ol>
 *   <li>A namespace enters the shard's selector: the shard creates the claim, or takes it over when
 *       it is released or its holder has no live leader (its Lease is unheld or expired: a leader
 *       that loses its Lease exits, so nothing of it still writes). While another live shard holds
 *       it, this one waits and says so once in its log.
 *   <li>A namespace leaves the selector: the shard stops starting reconciles there at once (the
 *       reconciler asks {@link #owns}), waits until the reconciles already running there, status
 *       patch included, have finished ({@link #counting}), and only then deletes the claim.
 * </ol>
 *
 * <p>So the new shard's first write comes after the old shard's last. What the handover does not
 * need: the children's server-side-apply field manager is the controller's name in every shard,
 * so the new shard applies as the same manager and owns the same fields; there are no finalizers
 * (children go by owner references); host claims name the app, not the shard.
 */
public final class NamespaceShard implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NamespaceShard.class);
  public static final String CLAIM_LABEL = "safedefaults.io/namespace-claim";
  public static final String NAMESPACE_ANNOTATION = "safedefaults.io/namespace";
  private static final String PREFIX = "microapp-namespace-";
  /** A DNS label short enough to end Lease names and metric values. */
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?");
  /** How often claims that wait and releases that drain are looked at again. */
  static final Duration TICK = Duration.ofMillis(500);

  private final KubernetesClient client;
  private final String name;
  private final String selector;
  private final String claimsNamespace;
  private final String identity;
  private final Clock clock;
  /** Where this shard may write now: the reconciler's gate. */
  private final Set<String> owned = ConcurrentHashMap.newKeySet();
  /** Left the selector; the claim goes once nothing runs there. */
  private final Set<String> releasing = ConcurrentHashMap.newKeySet();
  /** Matching, but another live shard holds the claim (value: the holder, logged once). */
  private final Map<String, String> waiting = new ConcurrentHashMap<>();
  /** Reconciles running per namespace, from JOSDK's start of an execution to its end. */
  private final Map<String, AtomicInteger> running = new ConcurrentHashMap<>();
  private volatile Consumer<Set<String>> listener = s -> { };
  private volatile Consumer<String> handedOver = ns -> { };
  private SharedIndexInformer<Namespace> namespaces;
  private ScheduledExecutorService loop;

  /**
   * @param name the shard's name (a DNS label of at most 40 characters)
   * @param selector a label selector on namespaces
   * @param claimsNamespace where the claims live: shared by every shard (the sealing keys' namespace)
   * @param leaseNamespace namespace of this shard's leader-election Lease
   * @param leaseName name of this shard's leader-election Lease
   */
  public NamespaceShard(KubernetesClient client, String name, String selector, String claimsNamespace,
      String leaseNamespace, String leaseName, Clock clock) {
    this.client = client;
    this.name = validName(name);
    if (selector == null || selector.isBlank()) {
      throw new IllegalArgumentException("--shard-selector is empty; give a label selector on namespaces, e.g. "
          + "safedefaults.io/shard=" + name);
    }
    this.selector = selector.trim();
    this.claimsNamespace = Objects.requireNonNull(claimsNamespace);
    this.identity = leaseNamespace + "/" + leaseName;
    this.clock = clock;
  }

  /** @return the name, or throws a sentence naming the flag and the rule */
  public static String validName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("--shard-name '" + (name == null ? "" : name.replaceAll("[^ -~]", "?"))
          + "' is not usable: use 1-40 lower-case letters, digits and '-', starting and ending with a letter or"
          + " digit (it ends the leader-election Lease's name and labels the metrics)");
    }
    return name;
  }

  /** The claim of a namespace. */
  public static String claimName(String namespace) {
    return PREFIX + namespace;
  }

  public String name() {
    return name;
  }

  /** What the claims hold: this shard's leader-election Lease as namespace/name. */
  public String identity() {
    return identity;
  }

  /** True while this shard holds the namespace and it is in its selector: the only time it may write there. */
  public boolean owns(String namespace) {
    return owned.contains(namespace);
  }

  public Set<String> owned() {
    return Set.copyOf(owned);
  }

  /** Namespaces the selector matches whose claim another live shard holds. */
  public Set<String> waiting() {
    return Set.copyOf(waiting.keySet());
  }

  /**
   * JOSDK's metrics with the running reconciles counted per namespace. JOSDK reports the start and
   * end of each execution around the reconcile and the status patch after it, so a count of zero
   * means no write of this controller is on its way there.
   */
  public Metrics counting(Metrics delegate) {
    return new Counting(delegate);
  }

  /**
   * Checks the selector with the API server, the one parser of label selectors: its answer names
   * what is wrong. Called before the election, so a bad flag stops the start with that sentence.
   */
  public void checkSelector() {
    try {
      client.namespaces().withLabelSelector(selector).list(new ListOptionsBuilder().withLimit(1L).build());
    } catch (KubernetesClientException e) {
      if (e.getCode() == 400) {
        throw new IllegalArgumentException("--shard-selector '" + selector.replaceAll("[^ -~]", "?")
            + "' is not a label selector the API server accepts ("
            + (e.getStatus() != null ? e.getStatus().getMessage() : "HTTP 400")
            + "); e.g. safedefaults.io/shard=" + name + " or 'team in (food,fin)'", e);
      }
      throw e;
    }
  }

  /**
   * What the controller watches while the shard holds no namespace: JOSDK cannot watch an empty set,
   * so the claims' namespace stands in; the reconciler's gate ({@link #owns}) keeps it from writing
   * there unless this shard holds that namespace too.
   */
  public Set<String> idleNamespaces() {
    return Set.of(claimsNamespace);
  }

  /** @param forget receives each namespace this shard handed over, once nothing of it runs here */
  public NamespaceShard onHandedOver(Consumer<String> forget) {
    this.handedOver = Objects.requireNonNull(forget);
    return this;
  }

  /**
   * {@link #start(Consumer)} with the controller following the held namespaces: its informers, its
   * dependents' and every event source that can change namespaces (JOSDK's changeNamespaces).
   */
  public NamespaceShard startFollowing(io.javaoperatorsdk.operator.RegisteredController<?> controller) {
    return start(owned -> controller.changeNamespaces(owned.isEmpty() ? idleNamespaces() : owned));
  }

  /**
   * Follows the namespaces the selector matches and claims them. Call once this instance leads.
   *
   * @param ownedChanged receives the namespaces held whenever they change (the controller's watch set)
   */
  public synchronized NamespaceShard start(Consumer<Set<String>> ownedChanged) {
    this.listener = ownedChanged;
    checkSelector();
    loop = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "shard-" + name);
      t.setDaemon(true);
      return t;
    });
    namespaces = client.namespaces().withLabelSelector(selector).inform(new ResourceEventHandler<>() {
      @Override public void onAdd(Namespace ns) { wake(); }
      @Override public void onUpdate(Namespace before, Namespace after) { wake(); }
      @Override public void onDelete(Namespace ns, boolean unknown) { wake(); }
    });
    loop.scheduleWithFixedDelay(this::stepQuietly, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
    LOG.info("shard {} ({}): reconciling MicroApps in namespaces matching '{}', claims in {}", name, identity,
        selector, claimsNamespace);
    return this;
  }

  private void wake() {
    var l = loop;
    if (l != null && !l.isShutdown()) {
      l.execute(this::stepQuietly);
    }
  }

  private void stepQuietly() {
    try {
      step();
    } catch (RuntimeException e) {
      // the schedule must survive anything; the next tick tries again
      LOG.warn("shard {}: could not update namespace claims ({}); trying again", name, e.getMessage());
    }
  }

  /** One look at the selector, the claims and the running reconciles; runs on the shard's own thread. */
  synchronized void step() {
    Set<String> wanted = namespaces.getStore().list().stream().map(n -> n.getMetadata().getName())
        .collect(Collectors.toSet());
    boolean changed = false;
    for (String ns : Set.copyOf(owned)) {
      if (!wanted.contains(ns)) {
        owned.remove(ns); // the gate closes first; only then are the running reconciles counted
        releasing.add(ns);
        changed = true;
        LOG.info("shard {}: namespace {} left the selector; handing it over once its reconciles finish", name, ns);
      }
    }
    for (String ns : Set.copyOf(releasing)) {
      if (wanted.contains(ns)) {
        releasing.remove(ns); // came back before it was released: the claim is still ours
        owned.add(ns);
        changed = true;
      } else if (runningIn(ns) == 0) {
        handedOver.accept(ns);
        release(ns);
        releasing.remove(ns);
      }
    }
    waiting.keySet().retainAll(wanted);
    for (String ns : wanted) {
      if (!owned.contains(ns) && !releasing.contains(ns) && claim(ns)) {
        owned.add(ns);
        waiting.remove(ns);
        changed = true;
        LOG.info("shard {}: holds namespace {}", name, ns);
      }
    }
    if (changed) {
      listener.accept(Set.copyOf(owned));
    }
  }

  int runningIn(String ns) {
    AtomicInteger n = running.get(ns);
    return n == null ? 0 : n.get();
  }

  /** @return true when this shard now holds the namespace's claim */
  private boolean claim(String ns) {
    var leases = client.leases().inNamespace(claimsNamespace);
    Lease lease = leases.withName(claimName(ns)).get();
    if (lease == null) {
      try {
        leases.resource(claimFor(ns, null)).create();
        return true;
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) {
          return false; // another shard created it just now: look again at the next tick
        }
        throw e;
      }
    }
    String holder = lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
    if (identity.equals(holder)) {
      return true;
    }
    if (holder != null && !holder.isBlank() && alive(holder)) {
      if (!holder.equals(waiting.put(ns, holder))) {
        LOG.info("shard {}: namespace {} matches the selector but shard {} holds it; waiting until it hands it over",
            name, ns, holder);
      }
      return false;
    }
    try {
      // optimistic lock: of two shards taking over a released claim, one update wins
      leases.resource(claimFor(ns, lease.getMetadata().getResourceVersion())).update();
      LOG.info("shard {}: took over namespace {} from {}, which has no live leader", name, ns, holder);
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409 || e.getCode() == 404) {
        return false;
      }
      throw e;
    }
  }

  private void release(String ns) {
    var ref = client.leases().inNamespace(claimsNamespace).withName(claimName(ns));
    Lease lease = ref.get();
    if (lease != null && lease.getSpec() != null && identity.equals(lease.getSpec().getHolderIdentity())) {
      try {
        client.leases().inNamespace(claimsNamespace).resource(lease).lockResourceVersion().delete();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 && e.getCode() != 404) {
          throw e;
        }
      }
    }
    LOG.info("shard {}: handed namespace {} over (no reconcile of it runs here)", name, ns);
  }

  /** True when the shard with this leader-election Lease (namespace/name) has a leader whose term runs. */
  private boolean alive(String holder) {
    String[] at = holder.split("/", 2);
    if (at.length != 2) {
      return false;
    }
    Lease lease = client.leases().inNamespace(at[0]).withName(at[1]).get();
    LeaseSpec spec = lease == null ? null : lease.getSpec();
    if (spec == null || spec.getHolderIdentity() == null || spec.getHolderIdentity().isBlank()
        || spec.getRenewTime() == null || spec.getLeaseDurationSeconds() == null) {
      return false;
    }
    return spec.getRenewTime().plusSeconds(spec.getLeaseDurationSeconds()).isAfter(ZonedDateTime.now(clock));
  }

  private Lease claimFor(String ns, String resourceVersion) {
    return new LeaseBuilder().withNewMetadata().withName(claimName(ns)).withNamespace(claimsNamespace)
        .withResourceVersion(resourceVersion)
        .addToLabels(Names.MANAGED_BY_KEY, Names.MANAGED_BY).addToLabels(CLAIM_LABEL, "true")
        .addToAnnotations(NAMESPACE_ANNOTATION, ns)
        .endMetadata()
        .withNewSpec().withHolderIdentity(identity).endSpec()
        .build();
  }

  @Override
  public synchronized void close() {
    if (loop != null) {
      loop.shutdownNow();
    }
    if (namespaces != null) {
      namespaces.close();
    }
  }

  /**
   * Delegates every call; counts executions per namespace on the way. JOSDK 5.2 also reports the
   * end of executions that never started (the app already gone from the cache, a delete event), so
   * each end is matched to its start on the executor thread, never to the resource it names.
   */
  private final class Counting implements Metrics {
    private final Metrics delegate;
    private final ThreadLocal<String> started = new ThreadLocal<>();

    Counting(Metrics delegate) {
      this.delegate = delegate;
    }

    @Override
    public void reconciliationExecutionStarted(HasMetadata resource, Map<String, Object> metadata) {
      String ns = resource == null || resource.getMetadata().getNamespace() == null ? ""
          : resource.getMetadata().getNamespace();
      running.computeIfAbsent(ns, k -> new AtomicInteger()).incrementAndGet();
      started.set(ns);
      delegate.reconciliationExecutionStarted(resource, metadata);
    }

    @Override
    public void reconciliationExecutionFinished(HasMetadata resource, Map<String, Object> metadata) {
      try {
        delegate.reconciliationExecutionFinished(resource, metadata);
      } finally {
        String ns = started.get();
        if (ns != null) {
          started.remove();
          running.get(ns).decrementAndGet();
        }
      }
    }

    @Override public void controllerRegistered(Controller<? extends HasMetadata> controller) {
      delegate.controllerRegistered(controller);
    }
    @Override public void receivedEvent(Event event, Map<String, Object> metadata) {
      delegate.receivedEvent(event, metadata);
    }
    @Override public void reconcileCustomResource(HasMetadata resource, RetryInfo retryInfo, Map<String, Object> metadata) {
      delegate.reconcileCustomResource(resource, retryInfo, metadata);
    }
    @Override public void failedReconciliation(HasMetadata resource, Exception exception, Map<String, Object> metadata) {
      delegate.failedReconciliation(resource, exception, metadata);
    }
    @Override public void cleanupDoneFor(ResourceID resourceID, Map<String, Object> metadata) {
      delegate.cleanupDoneFor(resourceID, metadata);
    }
    @Override public void finishedReconciliation(HasMetadata resource, Map<String, Object> metadata) {
      delegate.finishedReconciliation(resource, metadata);
    }
    @Override public <T> T timeControllerExecution(ControllerExecution<T> execution) throws Exception {
      return delegate.timeControllerExecution(execution);
    }
    @Override public <T extends Map<?, ?>> T monitorSizeOf(T map, String mapName) {
      return delegate.monitorSizeOf(map, mapName);
    }
  }
}
