package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ResourceQuotaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.status.Conditions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 12 item 3: generated specs, valid and invalid ({@link SpecGenerator}), created for real in
 * one namespace while the operator runs, then each app's spec replaced by another generated one.
 * The API server refuses what the CRD refuses; every app it accepts gets a status from the operator
 * for its generation, the operator logs no stack trace, no app has an
 * Ingress unless its status says sign-in and TLS are enforced or the Ingress leads anywhere but the
 * auth sidecar, and deleting the apps leaves no child behind.
 *
 * <p>The namespace's ResourceQuota admits no pod: the generated images exist nowhere, and a few
 * hundred pods failing to pull would only load the node. Pod templates are judged by Pod Security
 * in {@link SpecContractIT}. {@code -Dspec.seed=N} replays a run, {@code -Dfuzz.specs=N} resizes it.
 */
@Order(11)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SpecFuzzIT extends E2ETestBase {

  private static final int SPECS = Integer.getInteger("fuzz.specs", 500);
  /** Kinds the operator creates (and the controllers under them), all labelled managed-by=microapp-operator. */
  private static final List<Class<? extends HasMetadata>> CHILD_KINDS = List.of(
      io.fabric8.kubernetes.api.model.ConfigMap.class, io.fabric8.kubernetes.api.model.Secret.class,
      io.fabric8.kubernetes.api.model.ServiceAccount.class, Service.class, Deployment.class,
      io.fabric8.kubernetes.api.model.apps.ReplicaSet.class, io.fabric8.kubernetes.api.model.Pod.class, Ingress.class,
      io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class,
      io.fabric8.kubernetes.api.model.batch.v1.CronJob.class, io.fabric8.kubernetes.api.model.batch.v1.Job.class);

  private static final java.util.regex.Pattern OTHER_NAMESPACE = java.util.regex.Pattern.compile("e2e-[a-z0-9]+-[0-9a-f]{6}");

  private static String ns;
  private static Instant started;
  private static SpecGenerator generator;
  /** The apps the API server accepted, with the spec they were created with. */
  private static final List<SpecGenerator.App> accepted = new ArrayList<>();

  @Test
  @Order(1)
  void everyAppTheApiAcceptsGetsAStatusFromTheOperator() throws InterruptedException {
    ns = newNamespace("fuzz");
    client().resourceQuotas().inNamespace(ns).resource(new ResourceQuotaBuilder().withNewMetadata().withName("no-pods")
        .endMetadata().withNewSpec().addToHard("pods", new io.fabric8.kubernetes.api.model.Quantity("0")).endSpec().build())
        .create();
    started = Instant.now();
    generator = new SpecGenerator(SpecGenerator.specSchema(repoRoot()), SpecGenerator.seed("SpecFuzzIT"));
    List<SpecGenerator.App> apps = Stream.generate(generator::next).limit(SPECS).toList();
    List<String> created = send(apps, "specs generated", app -> microApps().resource(app.resource(ns)).create());
    apps.stream().filter(a -> created.contains(a.name())).forEach(accepted::add);
    assertEveryAppObserved("created");
  }

  /**
   * Each app takes the next accepted app's spec (exposed turns blocked, relaxed turns strict, and
   * back); every fourth a freshly generated one instead, which the API server mostly refuses.
   */
  @Test
  @Order(2)
  void everyChangedSpecIsObservedToo() throws InterruptedException {
    List<SpecGenerator.App> changes = new ArrayList<>();
    for (int i = 0; i < accepted.size(); i++) {
      Map<String, Object> spec = i % 4 == 3 ? generator.next().spec() : accepted.get((i + 1) % accepted.size()).spec();
      changes.add(new SpecGenerator.App(accepted.get(i).name(), spec));
    }
    send(changes, "spec changes", app -> microApps().withName(app.name()).edit(r -> {
      r.getAdditionalProperties().put("spec", app.spec());
      return r;
    }));
    assertEveryAppObserved("changed");
  }

  /**
   * Sends each app with {@code write}, four at a time; returns the names the API server took and
   * counts the ones it refused as invalid. Any other answer fails the test.
   */
  private static List<String> send(List<SpecGenerator.App> apps, String what, Consumer<SpecGenerator.App> write)
      throws InterruptedException {
    AtomicInteger refused = new AtomicInteger();
    ConcurrentLinkedQueue<String> taken = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (SpecGenerator.App app : apps) {
      pool.submit(() -> {
        try {
          write.accept(app);
          taken.add(app.name());
        } catch (KubernetesClientException e) {
          if (e.getCode() == 422 || e.getCode() == 400) {
            refused.incrementAndGet();
          } else {
            errors.add(app.name() + ": " + e.getCode() + " " + e.getMessage());
          }
        }
      });
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(2, TimeUnit.MINUTES)).as("every write answered").isTrue();
    System.out.printf("SpecFuzzIT: %d %s, %d accepted by the API server, %d refused (422/400)%n",
        apps.size(), what, taken.size(), refused.get());
    assertThat(errors).as("API answers other than accepted or refused as invalid").isEmpty();
    return List.copyOf(taken);
  }

  private static void assertEveryAppObserved(String after) {
    Instant since = Instant.now();
    List<String> unobserved = awaitNone(Duration.ofMinutes(2), SpecFuzzIT::unobserved);
    System.out.printf("SpecFuzzIT: %d apps %s, each observed by the operator within %d s%n",
        accepted.size(), after, Duration.between(since, Instant.now()).toSeconds());
    assertThat(unobserved).as("apps without a status for their generation (observedGeneration and conditions)").isEmpty();
  }

  private static NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
      Resource<GenericKubernetesResource>> microApps() {
    return client().genericKubernetesResources(MicroApp.GROUP + "/" + MicroApp.VERSION, "MicroApp").inNamespace(ns);
  }

  @Test
  @Order(3)
  void noAppIsExposedHalfSecured() {
    // Settled: an Ingress just written is reported in the status of the reconcile it triggers.
    List<String> exposures = awaitNone(Duration.ofSeconds(60), SpecFuzzIT::halfSecured);
    System.out.printf("SpecFuzzIT: %d Ingresses, each behind sign-in and TLS%n",
        client().network().v1().ingresses().inNamespace(ns).list().getItems().size());
    assertThat(exposures).as("Ingresses of apps whose status does not say sign-in and TLS are enforced,"
        + " or that lead anywhere but the auth sidecar").isEmpty();
  }

  @Test
  @Order(4)
  void deletingTheAppsLeavesNoChild() {
    Instant deleting = Instant.now();
    client().resources(MicroApp.class).inNamespace(ns).delete();
    List<String> left = awaitNone(Duration.ofMinutes(2), SpecFuzzIT::leftovers);
    System.out.printf("SpecFuzzIT: %d apps deleted, their children gone %d s later%n", accepted.size(),
        Duration.between(deleting, Instant.now()).toSeconds());
    assertThat(left).as("MicroApps and objects labelled %s left after deleting every app", Names.MANAGED_SELECTOR).isEmpty();
    assertOperatorAlive();
  }

  /**
   * The whole run, deletion included, through pods/log. Lines about another test's namespace (one
   * deleted just before this class started) are that test's to judge.
   */
  @Test
  @Order(5)
  void theOperatorLoggedNoErrorAndNoStackTrace() {
    List<String> traces = new ArrayList<>();
    int lines = 0;
    for (var pod : operator().pods()) {
      String log = client().pods().inNamespace(InClusterOperator.NAMESPACE).withName(pod.getMetadata().getName())
          .inContainer("operator").sinceTime(started.minusSeconds(1).toString()).getLog();
      for (String line : log.split("\n")) {
        lines++;
        boolean otherTest = OTHER_NAMESPACE.matcher(line.replace(ns, "")).find();
        if (!otherTest && (line.contains("\"stack_trace\"") || line.contains("\"level\":\"ERROR\"") || line.startsWith("\tat ")
            || line.contains("Exception in thread"))) {
          traces.add(pod.getMetadata().getName() + ": " + SpecValues.cut(line, 600));
        }
      }
    }
    System.out.printf("SpecFuzzIT: %d operator log lines since the first create, %d errors or stack traces%n", lines, traces.size());
    assertThat(traces).as("operator log lines (read through pods/log) with an error or a stack trace").isEmpty();
    assertOperatorAlive();
  }

  /** Waits, at most {@code max}, until {@code problems} finds none; returns what it still finds. */
  private static List<String> awaitNone(Duration max, Supplier<List<String>> problems) {
    try {
      await().atMost(max).pollInterval(Duration.ofSeconds(2)).until(() -> problems.get().isEmpty());
      return List.of();
    } catch (ConditionTimeoutException e) {
      return problems.get();
    }
  }

  /** Accepted apps whose status does not (yet) describe their current generation. */
  private static List<String> unobserved() {
    Map<String, MicroApp> apps = apps();
    return accepted.stream().map(SpecGenerator.App::name).filter(name -> {
      MicroApp app = apps.get(name);
      return app == null || app.getStatus() == null || app.getStatus().getConditions() == null
          || app.getStatus().getConditions().isEmpty()
          || !Objects.equals(app.getStatus().getObservedGeneration(), app.getMetadata().getGeneration());
    }).toList();
  }

  /** Every Ingress that exposes more than the sidecar, or an app whose status does not say auth and TLS hold. */
  private static List<String> halfSecured() {
    Map<String, MicroApp> apps = apps();
    List<String> out = new ArrayList<>();
    for (Ingress ingress : client().network().v1().ingresses().inNamespace(ns).list().getItems()) {
      String name = ingress.getMetadata().getName();
      MicroApp app = apps.get(ingress.getMetadata().getLabels().get(Names.APP_LABEL));
      for (String condition : List.of(Conditions.AUTH, Conditions.TLS)) {
        if (!"True".equals(conditionStatus(app, condition))) {
          out.add("Ingress " + name + ": " + condition + "=" + conditionStatus(app, condition) + "; " + describeStatus(app));
        }
      }
      if (ingress.getSpec().getDefaultBackend() != null) {
        out.add("Ingress " + name + " has a default backend");
      }
      ingress.getSpec().getRules().stream().flatMap(r -> r.getHttp().getPaths().stream())
          .map(p -> p.getBackend()).map(b -> sidecarOnly(b, app)).flatMap(Optional::stream)
          .forEach(problem -> out.add("Ingress " + name + ": " + problem));
    }
    return out;
  }

  /** Why a backend may reach more than the app's sidecar port, or empty when it reaches only that. */
  private static Optional<String> sidecarOnly(IngressBackend backend, MicroApp app) {
    if (app == null || backend.getService() == null || !app.getMetadata().getName().equals(backend.getService().getName())) {
      return Optional.of("backend " + backend + " is not the app's Service");
    }
    Service service = client().services().inNamespace(ns).withName(backend.getService().getName()).get();
    Deployment deployment = client().apps().deployments().inNamespace(ns).withName(app.getMetadata().getName()).get();
    if (service == null || deployment == null) {
      return Optional.of("Service or Deployment of the backend missing");
    }
    boolean serviceToSidecarOnly = service.getSpec().getPorts().stream()
        .allMatch(p -> Names.SIDECAR_PORT_NAME.equals(p.getTargetPort().getStrVal()));
    // Exactly one container port carries the sidecar port's name: the sidecar's own.
    List<String> named = deployment.getSpec().getTemplate().getSpec().getContainers().stream()
        .flatMap(c -> Optional.ofNullable(c.getPorts()).orElse(List.of()).stream()
            .filter(p -> Names.SIDECAR_PORT_NAME.equals(p.getName())).map(p -> c.getName() + ":" + p.getContainerPort()))
        .toList();
    boolean portIsSidecars = named.equals(List.of(Names.SIDECAR_CONTAINER + ":" + Names.SIDECAR_PORT));
    return serviceToSidecarOnly && portIsSidecars ? Optional.empty()
        : Optional.of("the Service's ports " + service.getSpec().getPorts() + " do not lead only to the sidecar's port "
            + Names.SIDECAR_PORT_NAME + " (" + Names.SIDECAR_PORT + ")");
  }

  private static List<String> leftovers() {
    List<String> out = new ArrayList<>(apps().keySet().stream().map(n -> "MicroApp " + n).toList());
    for (Class<? extends HasMetadata> kind : CHILD_KINDS) {
      client().resources(kind).inNamespace(ns).withLabel(Names.MANAGED_BY_KEY, Names.MANAGED_BY).list().getItems()
          .forEach(o -> out.add(o.getKind() + " " + o.getMetadata().getName()));
    }
    return out;
  }

  private static Map<String, MicroApp> apps() {
    return client().resources(MicroApp.class).inNamespace(ns).list().getItems().stream()
        .collect(Collectors.toMap(a -> a.getMetadata().getName(), Function.identity()));
  }
}
