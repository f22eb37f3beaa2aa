package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.safedefaults.microapp.e2e.ChildReference.Key;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The fault suite: two operator replicas with leader election (local processes, as the chart's
 * Deployment with two replicas) converge 48 apps (sealed values, purge CronJobs, overrides) on a
 * control plane of this class's own, while the leader is SIGKILLed, kube-apiserver and etcd are
 * SIGKILLed and restarted, and the leader is stopped as the kubelet stops a pod, each in the
 * middle of a round of changes. After each fault the children must be exactly what {@code render}
 * prints for the same apps (nothing missing, nothing extra, every app's status for its
 * generation), and nothing generated may be lost or regenerated: the session keys, purge tokens
 * and opened values stay as they were, and the sealed values still open to what was sealed.
 *
 * <p>Times are printed, not asserted (a loaded 2-core machine is not a benchmark); what is asserted
 * about the planned handover is its mechanism: the stopped leader gave the Lease up (an update
 * with no holder) and the standby took it from there, rather than after the lease ran out.
 */
@Order(10)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultsIT {
  static final String SYSTEM_NS = "microapp-system";
  static final String LEASE = "microapp-operator";
  static final List<String> NAMESPACES = List.of("faults-a", "faults-b", "faults-c");
  static final int APPS_PER_NAMESPACE = 16;
  /** The cluster policy, the same for {@code run} and {@code render} (both read these variables). */
  static final Map<String, String> POLICY = Map.of(
      "MICROAPP_CLUSTER_ISSUER", "microapp-local-ca",
      "MICROAPP_DEFAULT_ISSUER", "https://login.example.com/realms/acme",
      "MICROAPP_KEYS_NAMESPACE", SYSTEM_NS,
      "POD_NAMESPACE", SYSTEM_NS);
  static final Duration CONVERGE_WITHIN = Duration.ofSeconds(90);

  static LocalControlPlane cp;
  static Path jar;
  static Path workDir;
  static final List<LocalOperator> replicas = new ArrayList<>();
  static final List<String> figures = new ArrayList<>();
  /** The ciphertexts put into the manifests, by namespace ("ns") or app ("ns/app") and value name. */
  static final Map<String, String> sealed = new HashMap<>();

  @BeforeAll
  static void controlPlaneAndTwoReplicas() throws Exception {
    Path root = ControlPlane.findRepoRoot();
    jar = Env.operatorJar(root);
    workDir = ControlPlane.targetDir(root).resolve("faults");
    Files.createDirectories(workDir);
    Instant t0 = Instant.now();
    cp = LocalControlPlane.up("faults");
    cp.kubectl().run("apply", "--server-side", "-f", root.resolve("crds").toString()).orFail();
    // `kubectl wait` fails at once while the CRD has no conditions at all yet: ask again
    Instant crdDeadline = Instant.now().plusSeconds(60);
    while (!cp.kubectl().run("wait", "--for=condition=Established", "--timeout=10s", "crd/microapps.safedefaults.io").ok()) {
      assertThat(Instant.now()).as("the MicroApp CRD established").isBefore(crdDeadline);
      Thread.sleep(200);
    }
    for (String ns : concat(List.of(SYSTEM_NS), NAMESPACES)) {
      cp.client().namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns)
          .addToLabels("pod-security.kubernetes.io/enforce", "restricted").endMetadata().build()).create();
    }
    for (String id : List.of("replica-a", "replica-b")) {
      LocalOperator op = new LocalOperator(id, jar, cp.kubeconfig(), workDir, POLICY, List.of());
      replicas.add(op);
      op.start();
    }
    Instant replicasStarted = Instant.now();
    awaitLeader();
    Instant led = Instant.now();
    sealValues();
    figures.add(String.format("set-up: control plane and CRD %.1f s, 2 replicas started until one leads %.1f s,"
        + " %d values sealed with the CLI %.1f s", seconds(t0, replicasStarted), seconds(replicasStarted, led),
        sealed.size(), seconds(led, Instant.now())));
  }

  @AfterAll
  static void stopEverything() {
    replicas.forEach(LocalOperator::close);
    if (cp != null) {
      cp.close();
    }
    System.out.println("[faults] ==== figures (logs in " + workDir + ") ====");
    figures.forEach(f -> System.out.println("[faults] " + f));
  }

  // ---- the scenario, one named step per fault ------------------------------------------------------
  //
  // Each round starts from the children the round before converged to, and the generated values the
  // first round left are the baseline of every later one: a round runs only once the round before it
  // converged (else it is skipped, not failed, since it would measure from an unknown state). A check
  // after convergence that fails (a value regenerated, an opened value wrong) fails its own step only.

  /** How many rounds converged to the rendered children, in order; the next round needs all before it. */
  static int convergedRounds;
  /** What the operator generated (session keys, purge tokens, opened values) once the first round converged. */
  static Map<Key, String> material;

  @Test
  @Order(1)
  void theLeaderSigkilledMidRoundIsRestartedAndTheAppsConvergeWithNothingLost() throws Exception {
    // The leader crashes (SIGKILL) while creating every app's children; it restarts, as a pod would.
    Map<Key, JsonNode> expected = applyRound(0);
    LocalOperator first = leader();
    Instant fault = resumeAndInject("operator SIGKILL", first::kill);
    Map<Key, String> before = secrets(); // what the crashed leader had written
    first.start();
    Map<Key, JsonNode> live = awaitConverged("operator SIGKILL (leader " + first.identity() + ", restarted at once)",
        expected, fault);
    material = ChildReference.generatedMaterial(live);
    convergedRounds = 1;
    assertGeneratedKept(before, live);
    assertOpenedValues(live);
  }

  @Test
  @Order(2)
  void kubeApiserverSigkilledMidRoundForThreeSecondsAndTheAppsConvergeWithNothingLost() throws Exception {
    afterConvergedRounds(1, "operator SIGKILL");
    Map<Key, JsonNode> live = faultedRound(1, "kube-apiserver SIGKILL",
        () -> cp.crashAndRestart("kube-apiserver", Duration.ofSeconds(3)), "kube-apiserver SIGKILL, down 3 s");
    assertGeneratedKept(material, live);
  }

  @Test
  @Order(3)
  void etcdSigkilledMidRoundForThreeSecondsAndTheAppsConvergeWithNothingLost() throws Exception {
    afterConvergedRounds(2, "kube-apiserver SIGKILL");
    // kube-apiserver stays up meanwhile, answering errors
    Map<Key, JsonNode> live = faultedRound(2, "etcd SIGKILL",
        () -> cp.crashAndRestart("etcd", Duration.ofSeconds(3)), "etcd SIGKILL, down 3 s");
    assertGeneratedKept(material, live);
  }

  @Test
  @Order(4)
  void theLeaderStoppedMidRoundReleasesTheLeaseToTheStandbyAndTheAppsConvergeWithNothingLost() throws Exception {
    afterConvergedRounds(3, "etcd SIGKILL");
    // A planned handover: SIGTERM to the leader; the standby takes over (asserted in plannedHandover).
    Map<Key, JsonNode> live = faultedRound(3, "leader SIGTERM", FaultsIT::plannedHandover,
        "leader SIGTERM, standby takes over");
    assertGeneratedKept(material, live);
    assertOpenedValues(live);
  }

  /** Runs whether or not the rounds converged: it reads every start's log of both replicas, whatever ran. */
  @Test
  @Order(5)
  void noReplicasLogHoldsAPlaintextOrASealedValue() {
    for (LocalOperator r : replicas) {
      // crashes, outages and retries included: no plaintext and no sealed value in any log line
      assertThat(r.log()).as("log of %s", r.identity()).doesNotContain(PLAINTEXT_PREFIX).doesNotContain(sealed.values());
    }
    int restarts = replicas.stream().mapToInt(LocalOperator::unplannedRestarts).sum();
    figures.add("replicas that ended on their own and were restarted (lost the lease in an outage): " + restarts);
    figures.add("rounds converged: " + convergedRounds + " of 4");
  }

  /**
   * Round {@code round}: applies it, injects the fault midway, waits until every app's children equal
   * render's again and counts the round as converged; the live children.
   */
  static Map<Key, JsonNode> faultedRound(int round, String fault, Fault inject, String converging) throws Exception {
    Map<Key, JsonNode> expected = applyRound(round);
    Instant at = resumeAndInject(fault, inject);
    Map<Key, JsonNode> live = awaitConverged(converging, expected, at);
    convergedRounds = round + 1;
    return live;
  }

  /** Skips the step unless the {@code rounds} before it converged (the last of them: {@code previous}). */
  static void afterConvergedRounds(int rounds, String previous) {
    assumeTrue(convergedRounds == rounds, () -> "skipped: " + convergedRounds + " of the " + rounds + " rounds before"
        + " this one converged (the last: " + previous + "), and this round starts from their children and the first"
        + " round's generated values");
  }

  // ---- the apps ------------------------------------------------------------------------------

  /**
   * The apps of one round (the round is in the image tag, the allowed group and the retention, so
   * each round changes every Deployment, most sidecar configs and purge CronJobs): per namespace, in turn, a private app with a host, a namespace-wide sealed value
   * and an HTTP purge; a private app without host (no Ingress) with a purge; a public page with
   * justified overrides (no sign-in, no retention); a private app with another purge and, in the
   * first namespace, a sealed OIDC client secret and (one of them) a value sealed for it alone.
   */
  static String manifests(int round) {
    StringBuilder y = new StringBuilder();
    for (String ns : NAMESPACES) {
      for (int i = 0; i < APPS_PER_NAMESPACE; i++) {
        String name = appName(i);
        y.append("---\napiVersion: safedefaults.io/v1alpha1\nkind: MicroApp\nmetadata: {name: ").append(name)
            .append(", namespace: ").append(ns).append("}\nspec:\n  image: ghcr.io/acme/where2eat:1.4.").append(round)
            .append("\n  port: 8080\n");
        switch (i % 4) {
          case 0 -> y.append("  host: ").append(name).append('.').append(ns).append(".apps.example.com\n")
              .append("  auth: {allowedGroups: [team-").append(ns).append('-').append(round).append("]}\n")
              .append("  secrets: {sealed: {MAPS_API_KEY: \"").append(sealed.get(ns + " MAPS_API_KEY")).append("\"}}\n")
              .append("  retention: {ttl: ").append(30 + round).append("d, purge: {http: {path: /internal/purge}}}\n");
          case 1 -> y.append("  auth: {allowedGroups: [team-").append(ns).append('-').append(round).append("]}\n")
              .append("  retention: {ttl: ").append(7 + round).append("d, purge: {http: {path: /internal/purge}}}\n");
          case 2 -> y.append("  host: ").append(name).append('.').append(ns).append(".apps.example.com\n")
              .append("  visibility: public\n  overrides:\n")
              .append("    - {setting: visibility, justification: \"public page, no personal data\"}\n")
              .append("    - {setting: retention, justification: \"static page, stores nothing\"}\n");
          default -> {
            y.append("  host: ").append(name).append('.').append(ns).append(".apps.example.com\n")
                .append("  auth:\n    allowedGroups: [team-").append(ns).append('-').append(round).append("]\n");
            String clientSecret = sealed.get(ns + " auth.clientSecret");
            if (clientSecret != null) {
              y.append("    clientSecret: {sealed: \"").append(clientSecret).append("\"}\n");
            }
            String own = sealed.get(ns + "/" + name + " DB_PASSWORD");
            if (own != null) {
              y.append("  secrets: {sealed: {DB_PASSWORD: \"").append(own).append("\"}}\n");
            }
            y.append("  retention: {ttl: ").append(90 + round).append("d, purge: {http: {path: /purge}}}\n");
          }
        }
      }
    }
    return y.toString();
  }

  static String appName(int i) {
    return switch (i % 4) {
      case 0 -> "shop-" + i;
      case 1 -> "tool-" + i;
      case 2 -> "page-" + i;
      default -> "desk-" + i;
    };
  }

  /** What each app's opened-values Secret must hold (the plaintexts sealed in {@link #sealValues}). */
  static Map<Key, Map<String, String>> openedValues() {
    Map<Key, Map<String, String>> out = new TreeMap<>();
    for (String ns : NAMESPACES) {
      for (int i = 0; i < APPS_PER_NAMESPACE; i++) {
        String name = appName(i);
        Map<String, String> values = new TreeMap<>();
        if (i % 4 == 0) {
          values.put("MAPS_API_KEY", plaintext(ns, "MAPS_API_KEY"));
        } else if (i % 4 == 3) {
          if (sealed.containsKey(ns + " auth.clientSecret")) {
            values.put("oidc-client-secret", plaintext(ns, "auth.clientSecret"));
          }
          if (sealed.containsKey(ns + "/" + name + " DB_PASSWORD")) {
            values.put("DB_PASSWORD", plaintext(ns + "/" + name, "DB_PASSWORD"));
          }
        }
        if (!values.isEmpty()) {
          out.put(new Key("Secret", ns, name + "-sealed"), values);
        }
      }
    }
    return out;
  }

  /** A test value (not a real secret): its scope and name, so a mix-up between apps shows. */
  static String plaintext(String scope, String name) {
    return PLAINTEXT_PREFIX + scope + " " + name;
  }

  static final String PLAINTEXT_PREFIX = "fault-suite value ";

  /**
   * Seals with the operator's CLI and the cluster's public key, as a user does: per namespace a
   * namespace-wide value; in the first namespace also a namespace-wide OIDC client secret and a
   * value for one app alone. Three CLI processes at a time (each is a JVM start).
   */
  static void sealValues() throws Exception {
    List<String[]> jobs = new ArrayList<>(); // scope key, namespace, app or null, value name
    for (String ns : NAMESPACES) {
      jobs.add(new String[] {ns, ns, null, "MAPS_API_KEY"});
    }
    String first = NAMESPACES.get(0);
    jobs.add(new String[] {first, first, null, "auth.clientSecret"});
    jobs.add(new String[] {first + "/" + appName(3), first, appName(3), "DB_PASSWORD"});
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<String>> results = new ArrayList<>();
      for (String[] j : jobs) {
        List<String> args = new ArrayList<>(List.of("seal", "-n", j[1], "--name", j[3], "--raw", "--keys-namespace", SYSTEM_NS));
        args.addAll(j[2] == null ? List.of("--namespace-wide") : List.of("--app", j[2]));
        results.add(pool.submit(() -> OperatorCli.run(jar, cp.kubeconfig(), plaintext(j[0], j[3]), Map.of(),
            args.toArray(String[]::new)).orFail().strip()));
      }
      for (int k = 0; k < jobs.size(); k++) {
        String value = results.get(k).get();
        assertThat(value).startsWith("v1:").doesNotContain(plaintext(jobs.get(k)[0], jobs.get(k)[3]));
        sealed.put(jobs.get(k)[0] + " " + jobs.get(k)[3], value);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Applies the round's manifests with the replicas frozen and returns the reference: {@code render}
   * of the same file. {@link #resumeAndInject} lets the replicas go on.
   */
  static Map<Key, JsonNode> applyRound(int round) throws IOException, InterruptedException {
    Path file = workDir.resolve("apps-round-" + round + ".yaml");
    Files.writeString(file, manifests(round));
    OperatorCli.Result render = OperatorCli.run(jar, cp.kubeconfig(), null, POLICY, "render", "-f", file.toString());
    Files.writeString(workDir.resolve("reference-round-" + round + ".yaml"), render.orFail());
    assertThat(render.err()).as("render's warnings").isEmpty();
    Map<Key, JsonNode> expected = ChildReference.parseRendered(render.out());
    assertThat(expected).as("rendered children").hasSizeGreaterThan(NAMESPACES.size() * APPS_PER_NAMESPACE * 6);
    // The replicas are frozen while kubectl writes the apps one by one (a few seconds, well within
    // the lease), so the whole round is pending when they go on (resumeAndInject) and a fault can
    // hit it midway: otherwise the leader keeps up with kubectl and the round is done when it returns.
    for (LocalOperator r : replicas) {
      r.pause();
    }
    Kubectl.Result applied = cp.kubectl().run("apply", "-f", file.toString());
    if (!applied.ok()) {
      for (LocalOperator r : replicas) {
        r.resume();
      }
      applied.orFail();
    }
    return expected;
  }

  // ---- convergence ---------------------------------------------------------------------------

  record Apps(int current, int total, Map<String, String> uids) {}

  /** How many apps have a status for their generation; uid by namespace/name. */
  static Apps apps() {
    int current = 0;
    int total = 0;
    Map<String, String> uids = new HashMap<>();
    for (String ns : NAMESPACES) {
      for (GenericKubernetesResource app : cp.client().genericKubernetesResources("safedefaults.io/v1alpha1", "MicroApp")
          .inNamespace(ns).list().getItems()) {
        total++;
        uids.put(ns + "/" + app.getMetadata().getName(), app.getMetadata().getUid());
        if (hasStatusForItsGeneration(app)) {
          current++;
        }
      }
    }
    return new Apps(current, total, uids);
  }

  /** A fault to inject. */
  interface Fault {
    void inject() throws Exception;
  }

  /**
   * Lets the frozen replicas go on with the round {@link #applyRound} left pending and injects the
   * fault as soon as a watch sees the first app converged to it, i.e. while the leader is at work on
   * the rest (a round takes it a second or two). Returns when the fault was injected.
   */
  static Instant resumeAndInject(String name, Fault fault) throws Exception {
    Set<String> converged = ConcurrentHashMap.newKeySet();
    CountDownLatch first = new CountDownLatch(1);
    try (Watch watch = cp.client().genericKubernetesResources("safedefaults.io/v1alpha1", "MicroApp").inAnyNamespace()
        .watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, GenericKubernetesResource app) {
            if (hasStatusForItsGeneration(app)) {
              converged.add(app.getMetadata().getNamespace() + "/" + app.getMetadata().getName());
              first.countDown();
            }
          }

          @Override
          public void onClose(WatcherException cause) {
            // closed by the test, or by the fault itself
          }
        })) {
      for (LocalOperator r : replicas) {
        r.resume();
      }
      assertThat(first.await(CONVERGE_WITHIN.toSeconds(), TimeUnit.SECONDS)).as("an app converged to the round").isTrue();
      int done = converged.size();
      Instant at = Instant.now();
      fault.inject();
      figures.add(String.format("%s: injected when %d of %d apps had converged to the round", name, done,
          NAMESPACES.size() * APPS_PER_NAMESPACE));
      return at;
    }
  }

  /** The data of the operator's Secrets (never printed). */
  static Map<Key, String> secrets() {
    return ChildReference.generatedMaterial(
        ChildReference.live(cp.client(), Set.copyOf(NAMESPACES), List.<String[]>of(new String[] {"v1", "Secret"})));
  }

  static boolean hasStatusForItsGeneration(GenericKubernetesResource app) {
    Object observed = app.getAdditionalProperties().get("status") instanceof Map<?, ?> s ? s.get("observedGeneration") : null;
    return observed != null && Long.parseLong(observed.toString()) == app.getMetadata().getGeneration();
  }

  /**
   * Waits until every app has a status for its generation and the children equal the reference,
   * restarting replicas that end on their own meanwhile; fails with the differences left.
   */
  static Map<Key, JsonNode> awaitConverged(String fault, Map<Key, JsonNode> expected, Instant since) throws InterruptedException {
    Instant deadline = since.plus(CONVERGE_WITHIN);
    List<String> last = List.of("nothing read yet");
    while (Instant.now().isBefore(deadline)) {
      keepReplicasRunning();
      try {
        Apps apps = apps();
        Map<Key, JsonNode> live = ChildReference.live(cp.client(), Set.copyOf(NAMESPACES));
        List<String> diffs = new ArrayList<>(ChildReference.differences(expected, live, apps.uids()));
        if (apps.current() < apps.total()) {
          diffs.add(0, (apps.total() - apps.current()) + " of " + apps.total() + " apps without a status for their generation");
        }
        if (diffs.isEmpty()) {
          figures.add(String.format("%s: converged %.1f s after the fault (%d children equal to render's)", fault,
              seconds(since, Instant.now()), expected.size()));
          return live;
        }
        last = diffs;
      } catch (RuntimeException e) { // the API is down or restarting: keep polling
        last = List.of("API: " + e.getMessage());
      }
      Thread.sleep(500);
    }
    throw new AssertionError(fault + ": not converged within " + CONVERGE_WITHIN.toSeconds() + " s; " + last.size()
        + " differences, first ones:\n  " + String.join("\n  ", last.subList(0, Math.min(25, last.size())))
        + "\nlogs: " + workDir);
  }

  /**
   * What the operator had generated before the fault is still there, unchanged: no session key or
   * purge token regenerated, no opened value lost, no pod template's secrets hash moved. Only the
   * names of the children that differ are shown, never values.
   */
  static void assertGeneratedKept(Map<Key, String> before, Map<Key, JsonNode> live) {
    Map<Key, String> after = ChildReference.generatedMaterial(live);
    List<Key> changed = before.keySet().stream().filter(k -> !before.get(k).equals(after.get(k))).toList();
    assertThat(changed).as("children whose generated data changed across the fault (values not shown)").isEmpty();
  }

  /** Every opened-values Secret holds exactly what was sealed (compared here, never printed). */
  static void assertOpenedValues(Map<Key, JsonNode> live) {
    List<String> wrong = new ArrayList<>();
    openedValues().forEach((k, values) -> {
      JsonNode data = live.get(k) == null ? null : live.get(k).path("data");
      Map<String, String> got = new TreeMap<>();
      if (data != null) {
        data.fields().forEachRemaining(e -> got.put(e.getKey(),
            new String(Base64.getDecoder().decode(e.getValue().asText()), StandardCharsets.UTF_8)));
      }
      if (!got.equals(values)) {
        wrong.add(k + " (keys " + got.keySet() + ", expected " + values.keySet() + ")");
      }
    });
    assertThat(wrong).as("opened-values Secrets that do not open to what was sealed").isEmpty();
  }

  // ---- leader election -------------------------------------------------------------------------

  static LocalOperator leader() {
    String holder = lease().map(l -> l.getSpec().getHolderIdentity()).orElse(null);
    return replicas.stream().filter(r -> r.identity().equals(holder)).findFirst()
        .orElseThrow(() -> new AssertionError("no replica holds the Lease; holder: " + holder));
  }

  static Optional<Lease> lease() {
    return Optional.ofNullable(cp.client().resources(Lease.class).inNamespace(SYSTEM_NS).withName(LEASE).get());
  }

  static void awaitLeader() throws InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
    while (Instant.now().isBefore(deadline)) {
      keepReplicasRunning();
      String holder = lease().map(l -> l.getSpec().getHolderIdentity()).orElse(null);
      if (holder != null && replicas.stream().anyMatch(r -> r.identity().equals(holder))
          && cp.client().configMaps().inNamespace(SYSTEM_NS).withName("microapp-sealing-public-key").get() != null) {
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError("no replica led within 90 s; logs in " + workDir);
  }

  record LeaseEvent(Instant at, String holder, Integer transitions) {}

  /**
   * SIGTERM to the leader; the standby must take the Lease the leader gave up. Asserted: the
   * stopped leader logged the release, the Lease went through an update with no holder, and then
   * the standby held it with one transition more. Printed: the times from SIGTERM to the release,
   * to the standby holding the Lease, and to its "leading" log line.
   */
  static void plannedHandover() throws InterruptedException {
    LocalOperator leader = leader();
    LocalOperator standby = replicas.stream().filter(r -> r != leader).findFirst().orElseThrow();
    int transitionsBefore = Optional.ofNullable(lease().orElseThrow().getSpec().getLeaseTransitions()).orElse(0);
    List<LeaseEvent> events = new CopyOnWriteArrayList<>();
    try (Watch watch = cp.client().resources(Lease.class).inNamespace(SYSTEM_NS).withName(LEASE).watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, Lease l) {
        events.add(new LeaseEvent(Instant.now(), l.getSpec().getHolderIdentity(), l.getSpec().getLeaseTransitions()));
      }

      @Override
      public void onClose(WatcherException cause) {
        // the test ends the watch itself
      }
    })) {
      Instant sigterm = Instant.now();
      int code = leader.stop();
      Instant exited = Instant.now();
      Instant deadline = sigterm.plus(Duration.ofSeconds(60));
      while (events.stream().noneMatch(e -> standby.identity().equals(e.holder())) && Instant.now().isBefore(deadline)) {
        Thread.sleep(20);
      }
      // 143 = 128 + SIGTERM: the JVM's exit status after its shutdown hooks ran on the signal
      assertThat(code).as("exit code of the leader stopped with SIGTERM").isIn(0, 143);
      assertThat(leader.log()).as("the stopped leader's log").contains("released the lease " + LEASE);
      List<String> holders = events.stream().map(e -> String.valueOf(e.holder())).toList();
      int released = indexOf(events, e -> e.holder() == null || e.holder().isEmpty());
      int taken = indexOf(events, e -> standby.identity().equals(e.holder()));
      assertThat(released).as("an update of the Lease with no holder (the release); holders seen: %s", holders)
          .isGreaterThanOrEqualTo(0);
      assertThat(taken).as("the standby holds the Lease after the release; holders seen: %s", holders)
          .isGreaterThan(released);
      assertThat(events.get(taken).transitions()).as("leaseTransitions").isEqualTo(transitionsBefore + 1);
      Optional<Instant> leading = Optional.empty();
      Instant logDeadline = Instant.now().plusSeconds(10);
      while (leading.isEmpty() && Instant.now().isBefore(logDeadline)) {
        leading = standby.loggedAt("leading as", sigterm);
        Thread.sleep(100);
      }
      figures.add(String.format("planned handover %s -> %s: SIGTERM to Lease released %.0f ms, to the leader's exit"
          + " %.0f ms, to %s holding the Lease %.0f ms, to its \"leading as\" log line %s", leader.identity(),
          standby.identity(), millis(sigterm, events.get(released).at()), millis(sigterm, exited), standby.identity(),
          millis(sigterm, events.get(taken).at()),
          leading.map(t -> String.format("%.0f ms", millis(sigterm, t))).orElse("(not logged)")));
    }
  }

  static <T> int indexOf(List<T> list, java.util.function.Predicate<T> p) {
    for (int i = 0; i < list.size(); i++) {
      if (p.test(list.get(i))) {
        return i;
      }
    }
    return -1;
  }

  /** A replica that ended on its own is started again (the kubelet's part); stopped ones stay stopped. */
  static void keepReplicasRunning() {
    replicas.forEach(LocalOperator::restartIfExited);
  }

  static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  static double seconds(Instant from, Instant to) {
    return Duration.between(from, to).toMillis() / 1000.0;
  }

  static double millis(Instant from, Instant to) {
    return Duration.between(from, to).toNanos() / 1e6;
  }
}
