package io.safedefaults.microapp.runtime;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.APIResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.safedefaults.microapp.scan.ScanReport;
import io.safedefaults.microapp.scan.ScanSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trivy Operator's VulnerabilityReports, as the vulnerability gate reads them: an informer over all
 * namespaces, or one per watched namespace (the grants then cover only those), each report parsed once when it arrives (ScanReport#from) so a reconcile reads
 * a map and makes no API call. Where the CRD is not served, the gate sees "no scanner", and this
 * looks again every minute so that installing Trivy Operator later needs no restart. A report that
 * arrives, changes or goes re-evaluates the apps of its namespace.
 */
public final class ScanReports implements ScanSource, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ScanReports.class);
  private static final ResourceDefinitionContext REPORTS = new ResourceDefinitionContext.Builder()
      .withGroup("aquasecurity.github.io").withVersion("v1alpha1").withKind(ScanReport.KIND)
      .withPlural("vulnerabilityreports").withNamespaced(true).build();

  private final KubernetesClient client;
  private final Map<String, Map<String, ScanReport>> byNamespace = new ConcurrentHashMap<>();
  private final ScheduledExecutorService retry = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "scan-reports");
    t.setDaemon(true);
    return t;
  });
  private volatile List<SharedIndexInformer<GenericKubernetesResource>> informers;
  private final List<String> namespaces;
  private volatile Consumer<Set<String>> listener = ns -> { };
  private volatile Runnable served = () -> { };
  private final java.time.Duration lookAgain;

  /** @param namespaces the watched namespaces; empty: all */
  public ScanReports(KubernetesClient client, List<String> namespaces) {
    this(client, namespaces, java.time.Duration.ofMinutes(1));
  }

  /** @param lookAgain how often to look for the CRD while it is not served */
  public ScanReports(KubernetesClient client, List<String> namespaces, java.time.Duration lookAgain) {
    this.client = client;
    this.namespaces = List.copyOf(namespaces);
    this.lookAgain = lookAgain;
  }

  /** Reconciles the apps of the namespaces whose reports changed. */
  public void onChange(Consumer<Set<String>> listener) {
    this.listener = listener;
  }

  /** Re-evaluates every app once reports are served after the start (each said NoScanner until then). */
  public void onServed(Runnable served) {
    this.served = served;
  }

  /** Starts informing if the CRD is served, else looks again every minute. */
  public ScanReports start() {
    if (!tryStart()) {
      LOG.info("{} {} are not served (Trivy Operator not installed): a policy that requires image scans"
          + " reports NoScanner; looking again every {} s", ScanReport.API_VERSION, ScanReport.KIND,
          lookAgain.toSeconds());
      retry.scheduleWithFixedDelay(() -> {
        if (informers == null && tryStart()) {
          LOG.info("{} now served: reading scan reports", ScanReport.KIND);
          retry.shutdown();
          served.run();
        }
      }, lookAgain.toMillis(), lookAgain.toMillis(), TimeUnit.MILLISECONDS);
    }
    return this;
  }

  private boolean tryStart() {
    try {
      APIResourceList served = client.getApiResources(ScanReport.API_VERSION);
      if (served == null || served.getResources().stream().noneMatch(r -> ScanReport.KIND.equals(r.getKind()))) {
        return false;
      }
      var reports = client.genericKubernetesResources(REPORTS);
      List<SharedIndexInformer<GenericKubernetesResource>> started = new java.util.ArrayList<>();
      for (var scope : namespaces.isEmpty() ? List.of(reports.inAnyNamespace())
          : namespaces.stream().map(reports::inNamespace).toList()) {
        SharedIndexInformer<GenericKubernetesResource> i = scope.runnableInformer(0);
        i.addEventHandler(new ResourceEventHandler<>() {
          @Override public void onAdd(GenericKubernetesResource r) { put(r); }
          @Override public void onUpdate(GenericKubernetesResource before, GenericKubernetesResource r) { put(r); }
          @Override public void onDelete(GenericKubernetesResource r, boolean unknownFinalState) { remove(r); }
        });
        started.add(i);
        try {
          i.start().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
          started.forEach(SharedIndexInformer::close); // none half-started stays behind
          throw e;
        }
      }
      informers = List.copyOf(started);
      return true;
    } catch (KubernetesClientException e) {
      LOG.warn("cannot read {}: {}", ScanReport.KIND, e.getMessage());
      return false;
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("cannot start reading {}: {}", ScanReport.KIND, e.toString());
      return false;
    }
  }

  private void put(GenericKubernetesResource r) {
    String ns = r.getMetadata().getNamespace();
    Optional<ScanReport> parsed = ScanReport.from(r);
    if (parsed.isPresent()) {
      byNamespace.computeIfAbsent(ns, k -> new ConcurrentHashMap<>()).put(r.getMetadata().getName(), parsed.get());
    } else {
      // not a report the gate can use: it must not keep standing for an earlier, readable one
      Optional.ofNullable(byNamespace.get(ns)).ifPresent(m -> m.remove(r.getMetadata().getName()));
      LOG.warn("{}/{}: a {} without artifact, registry, update time or finding ids is ignored", ns,
          r.getMetadata().getName(), ScanReport.KIND);
    }
    listener.accept(Set.of(ns));
  }

  private void remove(GenericKubernetesResource r) {
    String ns = r.getMetadata().getNamespace();
    Optional.ofNullable(byNamespace.get(ns)).ifPresent(m -> m.remove(r.getMetadata().getName()));
    listener.accept(Set.of(ns));
  }

  @Override
  public Optional<List<ScanReport>> reports(String namespace) {
    if (informers == null) {
      return Optional.empty();
    }
    Map<String, ScanReport> m = byNamespace.get(namespace);
    return Optional.of(m == null ? List.of() : List.copyOf(m.values()));
  }

  @Override
  public void close() {
    retry.shutdownNow();
    if (informers != null) {
      informers.forEach(SharedIndexInformer::close);
    }
  }
}
