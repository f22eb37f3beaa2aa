package io.safedefaults.microapp.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicyStatus;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.PolicyMerge;
import java.time.Clock;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy of every namespace, kept current from MicroAppPolicies and namespace labels. When a
 * policy or a namespace's labels change, exactly the namespaces whose policy changed are handed to
 * the listener (their apps are reconciled); every policy's status says how many namespaces it
 * selects and what in it could not apply as written. Without the MicroAppPolicy CRD the flags apply.
 */
public final class PolicyWatch implements Function<String, OperatorConfig>, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PolicyWatch.class);

  private final KubernetesClient client;
  private final OperatorConfig flags;
  private final Clock clock;
  private volatile Consumer<Set<String>> listener = ns -> { };
  private volatile Map<String, OperatorConfig> byNamespace = Map.of();
  private SharedIndexInformer<MicroAppPolicy> policies;
  private SharedIndexInformer<Namespace> namespaces;

  public PolicyWatch(KubernetesClient client, OperatorConfig flags, Clock clock) {
    this.client = client;
    this.flags = flags;
    this.clock = clock;
  }

  /** Starts watching and returns once both lists are read: no app is planned against a partial view. */
  public PolicyWatch start() throws InterruptedException {
    ResourceEventHandler<HasMetadata> any = new ResourceEventHandler<>() {
      @Override public void onAdd(HasMetadata obj) { recompute(); }
      @Override public void onUpdate(HasMetadata oldObj, HasMetadata newObj) { recompute(); }
      @Override public void onDelete(HasMetadata obj, boolean unknown) { recompute(); }
    };
    namespaces = client.namespaces().runnableInformer(0);
    namespaces.addEventHandler(cast(any));
    awaitSynced(namespaces, "namespaces");
    try {
      policies = client.resources(MicroAppPolicy.class).runnableInformer(0);
      policies.addEventHandler(cast(any));
      awaitSynced(policies, "microapppolicies");
    } catch (IllegalStateException e) {
      boolean notServed = java.util.stream.Stream.<Throwable>iterate(e, Objects::nonNull, Throwable::getCause)
          .anyMatch(t -> t instanceof KubernetesClientException k && k.getCode() == 404);
      if (policies != null) {
        policies.close();
      }
      policies = null;
      if (!notServed) {
        throw e; // policies exist but cannot be read: running on the flags alone could loosen bounds
      }
      LOG.warn("MicroAppPolicy is not served ({}); the operator's flags apply to every namespace. Install the"
          + " CRD (kubectl apply -f crds/) and restart the operator to use policies", e.getMessage());
    }
    recompute();
    return this;
  }

  /** @param changed receives the namespaces whose policy changed */
  public void onChange(Consumer<Set<String>> changed) {
    this.listener = changed;
  }

  @Override
  public OperatorConfig apply(String namespace) {
    return byNamespace.getOrDefault(namespace, flags);
  }

  private synchronized void recompute() {
    if (namespaces == null) {
      return;
    }
    List<MicroAppPolicy> all = policies == null ? List.of() : List.copyOf(policies.getStore().list());
    Map<String, OperatorConfig> next = new HashMap<>();
    Map<String, Integer> selected = new HashMap<>();
    Map<String, java.util.TreeSet<String>> overlaps = new HashMap<>();
    Map<String, java.util.TreeSet<String>> noHost = new HashMap<>();
    for (Namespace ns : namespaces.getStore().list()) {
      List<MicroAppPolicy> mine = PolicyMerge.selecting(all, ns.getMetadata().getLabels());
      mine.forEach(p -> selected.merge(p.getMetadata().getName(), 1, Integer::sum));
      OperatorConfig effective = PolicyMerge.effective(flags, mine);
      next.put(ns.getMetadata().getName(), effective);
      if (mine.size() > 1) {
        for (MicroAppPolicy p : mine) {
          mine.stream().map(o -> o.getMetadata().getName()).filter(o -> !o.equals(p.getMetadata().getName()))
              .forEach(o -> overlaps.computeIfAbsent(p.getMetadata().getName(), k -> new java.util.TreeSet<>()).add(o));
          if (effective.allowedHostSuffixes() != null && effective.allowedHostSuffixes().isEmpty()) {
            noHost.computeIfAbsent(p.getMetadata().getName(), k -> new java.util.TreeSet<>())
                .add(ns.getMetadata().getName());
          }
        }
      }
    }
    Set<String> changed = new HashSet<>();
    Map<String, OperatorConfig> before = byNamespace;
    for (String ns : union(before.keySet(), next.keySet())) {
      if (!Objects.equals(before.getOrDefault(ns, flags), next.getOrDefault(ns, flags))) {
        changed.add(ns);
      }
    }
    byNamespace = Map.copyOf(next);
    for (MicroAppPolicy p : all) {
      String name = p.getMetadata().getName();
      List<String> conflicts = new java.util.ArrayList<>();
      if (overlaps.containsKey(name)) {
        conflicts.add("selects namespaces also selected by " + String.join(", ", overlaps.get(name))
            + "; there each field takes the strictest value of the policies that set it");
      }
      if (noHost.containsKey(name)) {
        conflicts.add("allowedHostSuffixes has nothing in common with the other policies in "
            + String.join(", ", noHost.get(name)) + ": no app there may have a host");
      }
      report(p, selected.getOrDefault(name, 0), conflicts);
    }
    if (!changed.isEmpty()) {
      LOG.info("policy changed for {} namespace(s)", changed.size());
      listener.accept(Set.copyOf(changed));
    }
  }

  /** The policy's status, written only when it differs. */
  private void report(MicroAppPolicy p, int selected, List<String> conflicts) {
    List<String> corrections = new java.util.ArrayList<>(PolicyMerge.corrections(p));
    boolean overlapOnly = corrections.isEmpty() && conflicts.stream().allMatch(c -> c.startsWith("selects"));
    corrections.addAll(conflicts);
    MicroAppPolicyStatus status = new MicroAppPolicyStatus();
    status.setObservedGeneration(p.getMetadata().getGeneration());
    status.setNamespaces(selected);
    // Overlapping alone is by design (documented precedence): said, but the policy stays valid.
    boolean valid = corrections.isEmpty() || overlapOnly;
    String since = p.getStatus() == null ? null : p.getStatus().getConditions().stream()
        .filter(c -> "Valid".equals(c.getType()) && c.getStatus().equals(valid ? "True" : "False"))
        .map(StatusCondition::getLastTransitionTime).findFirst().orElse(null);
    String reason = !valid ? "Corrected" : corrections.isEmpty() ? "AppliesAsWritten" : "Overlaps";
    String message = corrections.isEmpty() ? "every field applies as written" : String.join("; ", corrections);
    status.setConditions(List.of(StatusCondition.of("Valid", valid, reason, message)
        .withObservedGeneration(p.getMetadata().getGeneration())
        .withLastTransitionTime(since != null ? since
            : DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(ChronoUnit.SECONDS)))));
    if (status.equals(p.getStatus())) {
      return;
    }
    MicroAppPolicy patch = new MicroAppPolicy();
    patch.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(p.getMetadata().getName()).build());
    patch.setStatus(status);
    try {
      client.resources(MicroAppPolicy.class).withName(p.getMetadata().getName()).subresource("status").patch(
          io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
          patch);
    } catch (KubernetesClientException e) {
      LOG.warn("could not write the status of MicroAppPolicy {}: HTTP {}", p.getMetadata().getName(), e.getCode());
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> out = new HashSet<>(a);
    out.addAll(b);
    return out;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static <T extends HasMetadata> ResourceEventHandler<T> cast(ResourceEventHandler<HasMetadata> h) {
    return (ResourceEventHandler) h;
  }

  private static void awaitSynced(SharedIndexInformer<?> informer, String what) throws InterruptedException {
    try {
      informer.start().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("could not list " + what + ": "
          + (e.getCause() == null ? e.getMessage() : e.getCause().getMessage()), e);
    }
  }

  @Override
  public void close() {
    if (policies != null) {
      policies.close();
    }
    if (namespaces != null) {
      namespaces.close();
    }
  }
}
