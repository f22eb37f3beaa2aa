package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.SealedRef;
import io.safedefaults.microapp.api.SecretsSpec;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.auth.SessionKeyRotation;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.secrets.SealedValue;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.secrets.SealingKeys;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.status.Conditions;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The reconciler in-process against a real kube-apiserver and etcd (Fabric8 kube-api-test, offline
 * binaries from e2e/control-plane/build.sh). Server-side apply, CEL admission and the status
 * subresource exist only there. No controller-manager runs: Deployment status is set by the test.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class MicroAppReconcilerApiServerTest {
  static KubernetesClient client;
  static Operator operator;
  static final String PLAIN_API_KEY = "plain-maps-key-4f1c9e";
  static final String PLAIN_CLIENT_SECRET = "plain-client-secret-77ab";
  /** Every log event of the run, to prove no plaintext reaches a log. */
  static final ListAppender<ILoggingEvent> LOGS = new ListAppender<>();

  /**
   * A copy of what was logged so far. The operator's threads keep logging while a test reads, and
   * the appender adds under its own lock (AppenderBase.doAppend), so the copy is taken under it.
   */
  static List<ILoggingEvent> logs() {
    synchronized (LOGS) {
      return new java.util.ArrayList<>(LOGS.list);
    }
  }
  static SealingKeyStore keys;
  static final String KEYS_NS = "microapp-system";
  static final Set<String> MANAGED = Set.of("serviceaccounts", "configmaps", "secrets", "deployments", "services",
      "ingresses", "networkpolicies", "microapps", "events");

  String ns;
  static final SimpleMeterRegistry METRICS = new SimpleMeterRegistry();
  /** Makes every reconcile throw where no finding can be made of it, as a bug would. */
  static final java.util.concurrent.atomic.AtomicBoolean BREAK_RECONCILES = new java.util.concurrent.atomic.AtomicBoolean();

  @BeforeAll
  static void startOperator() throws Exception {
    LOGS.start();
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(LOGS);
    ((Logger) LoggerFactory.getLogger("io.javaoperatorsdk")).setLevel(ch.qos.logback.classic.Level.DEBUG);
    TestCluster.installCrd(client);
    OperatorConfig config = OperatorConfig.builder()
        .clusterIssuer("letsencrypt-test")
        .defaultIssuer("https://login.example.com/realms/acme")
        .build();
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(KEYS_NS).endMetadata().build())
        .serverSideApply();
    keys = new SealingKeyStore(client, KEYS_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    operator = new Operator(o -> o.withKubernetesClient(TestCluster.operatorClient(client)));
    operator.register(new MicroAppReconciler(config, new OperatorMetrics(METRICS), () -> {
          if (BREAK_RECONCILES.get()) {
            throw new IllegalStateException("injected by the test");
          }
          return keys.decryptor();
        }),
        o -> o.withReconciliationMaxInterval(Duration.ofSeconds(2)));
    operator.start();
  }

  @AfterAll
  static void stopOperator() {
    ((Logger) LoggerFactory.getLogger("io.javaoperatorsdk")).setLevel(ch.qos.logback.classic.Level.WARN);
    if (operator != null) {
      operator.stop();
    }
  }

  /**
   * The example app with a host of this test's own: each test has its namespace, and a host belongs
   * to one app cluster-wide, so tests sharing one would wait for each other's claims.
   */
  MicroApp where2eat() {
    MicroApp app = TestApps.where2eat(ns);
    app.getSpec().setHost(host());
    return app;
  }

  String host() {
    return "where2eat." + ns + ".apps.example.com";
  }

  @BeforeEach
  void namespace() {
    ns = "t-" + UUID.randomUUID().toString().substring(0, 8);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns)
        .addToLabels("pod-security.kubernetes.io/enforce", "restricted").endMetadata().build()).create();
  }

  /**
   * Every test's app uses the same host: the previous test's apps (and their Ingresses, which no
   * garbage collector removes here) go, so the host passes on as it would in a cluster.
   */
  @AfterEach
  void releaseHosts() {
    client.resources(MicroApp.class).inNamespace(ns).delete();
    // A reconcile already running when the app went may still write its Ingress once more (in a
    // cluster the garbage collector removes it, its owner being gone): delete until none comes back.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
      client.network().v1().ingresses().inNamespace(ns).delete();
      return client.resources(MicroApp.class).inNamespace(ns).list().getItems().isEmpty()
          && client.network().v1().ingresses().inNamespace(ns).list().getItems().isEmpty();
    });
    await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
        .until(() -> {
          client.network().v1().ingresses().inNamespace(ns).delete();
          return client.network().v1().ingresses().inNamespace(ns).list().getItems().isEmpty();
        });
  }

  @Test
  void createsSecuredChildrenAndReportsObservedStatus() {
    MicroApp app = client.resource(where2eat()).create();

    Deployment d = await().atMost(Duration.ofSeconds(30)).until(
        () -> client.apps().deployments().inNamespace(ns).withName("where2eat").get(), x -> x != null);
    assertThat(d.getSpec().getTemplate().getSpec().getContainers()).extracting(Container::getName)
        .containsExactly("app", "auth-proxy");
    assertThat(d.getMetadata().getOwnerReferences()).singleElement()
        .satisfies(o -> assertThat(o.getUid()).isEqualTo(app.getMetadata().getUid()));
    ServiceAccount sa = client.serviceAccounts().inNamespace(ns).withName("where2eat").get();
    assertThat(sa.getAutomountServiceAccountToken()).isFalse();
    Service svc = await().until(() -> client.services().inNamespace(ns).withName("where2eat").get(), x -> x != null);
    assertThat(svc.getSpec().getPorts()).singleElement()
        .satisfies(p -> assertThat(p.getTargetPort().getStrVal()).isEqualTo("auth-http"));
    await().until(() -> client.network().v1().networkPolicies().inNamespace(ns).withName("where2eat").get() != null);
    Ingress ing = await().until(
        () -> client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get(), x -> x != null);
    assertThat(ing.getSpec().getTls()).singleElement()
        .satisfies(t -> assertThat(t.getHosts()).containsExactly(host()));

    // No kubelet or deployment controller here: until pods are available, Ready says so.
    MicroApp waiting = awaitCondition(ns, "where2eat", Conditions.READY, "False");
    assertThat(Conditions.find(waiting.getStatus(), Conditions.READY).orElseThrow().getReason())
        .isEqualTo("PodsNotReady");
    for (String type : List.of(Conditions.AUTH, Conditions.TLS, Conditions.RATE_LIMITED, Conditions.LEAST_PRIVILEGE)) {
      assertThat(Conditions.find(waiting.getStatus(), type).orElseThrow().getStatus()).as(type).isEqualTo("True");
    }

    markAvailable(ns, "where2eat");
    MicroApp ready = awaitCondition(ns, "where2eat", Conditions.READY, "True");
    assertThat(ready.getStatus().getObservedGeneration()).isEqualTo(ready.getMetadata().getGeneration());
    // every item passes but the image scan, which the default policy does not require (relaxed)
    assertThat(ready.getStatus().getChecklist().getPassed()).isEqualTo(ready.getStatus().getChecklist().getTotal() - 1);
    assertThat(ready.getStatus().getChecklist().getRelaxed()).containsExactly("imageScanned");
    assertThat(ready.getStatus().getUrl()).isEqualTo("https://" + host());
    assertThat(client.v1().events().inNamespace(ns).list().getItems())
        .anySatisfy(e -> assertThat(e.getReason()).isEqualTo("Ready"));
  }

  @Test
  void convergedAppCausesNoWritesOnResync() throws Exception {
    // With sealed values too: the opened Secret must not be rewritten on every resync either.
    MicroApp app = where2eat();
    app.getSpec().setSecrets(new SecretsSpec());
    app.getSpec().getSecrets().getSealed().put("MAPS_API_KEY", seal(PLAIN_API_KEY, ns, "where2eat", "MAPS_API_KEY"));
    app.getSpec().getAuth().setClientSecret(new SealedRef(seal(PLAIN_CLIENT_SECRET, ns, "where2eat", Unsealer.CLIENT_SECRET)));
    client.resource(app).create();
    await().until(() -> client.secrets().inNamespace(ns).withName("where2eat-sealed").get() != null);
    await().until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns, "where2eat");
    awaitCondition(ns, "where2eat", Conditions.READY, "True");
    Thread.sleep(3000); // let the last status patch and its watch event settle

    long before = ApiServerRequests.writes(client, MANAGED);
    assertThat(before).as("the counter sees the writes that created the app").isPositive();
    Thread.sleep(8000); // four resyncs at the 2 s interval
    long after = ApiServerRequests.writes(client, MANAGED);

    assertThat(after - before).as("API writes during resyncs of a converged app").isZero();
  }

  @Test
  void repairsDriftOfChildren() {
    client.resource(where2eat()).create();
    Service original = await().until(() -> client.services().inNamespace(ns).withName("where2eat").get(), x -> x != null);
    await().until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);

    client.services().inNamespace(ns).withName("where2eat").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      Service s = client.services().inNamespace(ns).withName("where2eat").get();
      return s != null && !s.getMetadata().getUid().equals(original.getMetadata().getUid());
    });

    client.apps().deployments().inNamespace(ns).withName("where2eat").edit(d -> {
      d.getSpec().getTemplate().getSpec().getContainers().get(0).setImage("evil.example.com/miner:latest");
      d.getSpec().getTemplate().getSpec().getContainers().removeIf(c -> c.getName().equals("auth-proxy"));
      return d;
    });
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Deployment d = client.apps().deployments().inNamespace(ns).withName("where2eat").get();
      assertThat(d.getSpec().getTemplate().getSpec().getContainers()).extracting(Container::getName)
          .contains("auth-proxy");
      assertThat(d.getSpec().getTemplate().getSpec().getContainers()).extracting(Container::getImage)
          .contains("ghcr.io/acme/where2eat:1.4.2").doesNotContain("evil.example.com/miner:latest");
    });

    client.network().v1().ingresses().inNamespace(ns).withName("where2eat").edit(i -> {
      i.getMetadata().getAnnotations().remove("nginx.ingress.kubernetes.io/force-ssl-redirect");
      return i;
    });
    await().atMost(Duration.ofSeconds(30)).until(() -> "true".equals(client.network().v1().ingresses()
        .inNamespace(ns).withName("where2eat").get().getMetadata().getAnnotations()
        .get("nginx.ingress.kubernetes.io/force-ssl-redirect")));

    // signing everyone out (sidecar/README.md): a deleted session keyset comes back as a new one
    Secret keys = client.secrets().inNamespace(ns).withName("where2eat-session-keys").get();
    String keyset = keys.getData().get("session-keyset.json");
    client.secrets().inNamespace(ns).withName("where2eat-session-keys").delete();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Secret s = client.secrets().inNamespace(ns).withName("where2eat-session-keys").get();
      assertThat(s).isNotNull();
      assertThat(s.getMetadata().getUid()).isNotEqualTo(keys.getMetadata().getUid());
      assertThat(s.getData().get("session-keyset.json")).isNotBlank().isNotEqualTo(keyset);
    });
  }

  @Test
  void specChangesReachTheChildrenAndRollThePods() {
    client.resource(where2eat()).create();
    Deployment first = await().until(
        () -> client.apps().deployments().inNamespace(ns).withName("where2eat").get(), x -> x != null);
    String hash = first.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.CONFIG_HASH_ANNOTATION);

    mergePatch(ns, "where2eat", "{\"spec\":{\"rateLimit\":{\"perIP\":{\"requestsPerMinute\":50}},"
        + "\"auth\":{\"sessionTTL\":\"4h\"}}}");

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Ingress i = client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get();
      assertThat(i.getMetadata().getAnnotations()).containsEntry("nginx.ingress.kubernetes.io/limit-rpm", "50");
      ConfigMap cm = client.configMaps().inNamespace(ns).withName("where2eat-auth-proxy").get();
      assertThat(cm.getData().get("config.json")).contains("\"ttlSeconds\" : 14400");
      Deployment d = client.apps().deployments().inNamespace(ns).withName("where2eat").get();
      assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations().get(Names.CONFIG_HASH_ANNOTATION))
          .isNotEqualTo(hash);
    });
  }

  @Test
  void overrideOutsidePolicyKeepsTheAppOffTheInternet() {
    MicroApp app = where2eat();
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.NETWORK_POLICY,
        "the reporting namespace scrapes this app directly"));
    client.resource(app).create();

    MicroApp seen = awaitCondition(ns, "where2eat", Conditions.READY, "False");
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      MicroApp a = client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get();
      var ready = Conditions.find(a.getStatus(), Conditions.READY).orElseThrow();
      assertThat(ready.getReason()).isEqualTo("OverrideNotAllowed");
      assertThat(ready.getMessage()).contains("spec.overrides[0]").contains("networkPolicy");
    });
    assertThat(seen).isNotNull();
    assertThat(client.apps().deployments().inNamespace(ns).withName("where2eat").get()).isNotNull();
    assertThat(client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get()).isNull();
    NetworkPolicy np = client.network().v1().networkPolicies().inNamespace(ns).withName("where2eat").get();
    assertThat(np.getSpec().getIngress().get(0).getFrom()).as("refused override: no peer admits every namespace")
        .allSatisfy(peer -> assertThat(peer.getNamespaceSelector() == null
            || !peer.getNamespaceSelector().getMatchLabels().isEmpty()).isTrue());
  }

  @Test
  void justifiedOverrideIsAnnouncedOnceNotOnEveryReconcile() throws Exception {
    MicroApp app = where2eat();
    app.getSpec().setVisibility(Visibility.PUBLIC);
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.VISIBILITY, "public menu page, no personal data"));
    client.resource(app).create();
    awaitCondition(ns, "where2eat", Conditions.DEFAULTS_RELAXED, "True");
    await().until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns, "where2eat");
    awaitCondition(ns, "where2eat", Conditions.READY, "True");
    Thread.sleep(6000); // three resyncs
    assertThat(client.v1().events().inNamespace(ns).list().getItems())
        .filteredOn(e -> "DefaultsRelaxed".equals(e.getReason())).hasSize(1);
    assertThat(client.v1().events().inNamespace(ns).list().getItems())
        .filteredOn(e -> "Ready".equals(e.getReason())).hasSize(1);
  }

  @Test
  void removingTheHostRemovesTheIngress() {
    client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get() != null);
    mergePatch(ns, "where2eat", "{\"spec\":{\"host\":null}}");
    await().atMost(Duration.ofSeconds(30))
        .until(() -> client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get() == null);
  }

  @Test
  void admissionRejectsUnsafeSpecsWithTheFieldAndTheFix() {
    MicroApp pub = where2eat();
    pub.getSpec().setVisibility(Visibility.PUBLIC);
    assertRejected(pub, "spec.visibility", "justification");

    MicroApp longSession = where2eat();
    longSession.getSpec().getAuth().setSessionTTL("48h");
    assertRejected(longSession, "spec.auth.sessionTTL", "24h");

    MicroApp badHost = where2eat();
    badHost.getSpec().setHost("Where2Eat.example.com");
    assertRejected(badHost, "spec.host", "lowercase DNS name");

    MicroApp badPort = where2eat();
    badPort.getSpec().setPort(70000);
    assertRejected(badPort, "spec.port", "65535");

    MicroApp reserved = where2eat();
    reserved.getSpec().setPort(4180);
    assertRejected(reserved, "spec.port", "reserved for the auth sidecar");

    MicroApp relPath = where2eat();
    relPath.getSpec().getAuth().setAdminPaths(List.of("admin"));
    assertRejected(relPath, "spec.auth.adminPaths[0]", "start with '/'");

    for (String path : List.of("/tmp", "/tmp/", "/", "/proc/self", "/dev", "/a//b", "/a/./b", "/a/../tmp", "tmp",
        "/var/run/secrets/microapp/purge", "/var/run/secrets/microapp")) {
      MicroApp mount = where2eat();
      mount.getSpec().setSecrets(new SecretsSpec());
      mount.getSpec().getSecrets().setMountPath(path);
      assertRejected(mount, "spec.secrets.mountPath", path.equals("/tmp") || path.startsWith("/proc")
          || path.equals("/dev") || path.startsWith("/var/run/secrets/microapp") ? "must not be /tmp" : "clean absolute path");
    }
    for (String path : List.of("/var/run/secrets/app", "/home/app/.config", "/tmp/app-secrets", "/srv/..data")) {
      MicroApp mount = where2eat();
      mount.getSpec().setSecrets(new SecretsSpec());
      mount.getSpec().getSecrets().setMountPath(path);
      assertThat(client.resource(mount).dryRun().create().getSpec().getSecrets().getMountPath()).isEqualTo(path);
    }

    // limits of 0 mean no limit: refused, in every spelling of zero
    for (String zero : List.of("0", "0m", "0.0", "00", "0Mi", "0.000Gi")) {
      MicroApp noLimit = where2eat();
      noLimit.getSpec().setResources(new io.safedefaults.microapp.api.AppResources());
      boolean cpu = !zero.endsWith("i");
      if (cpu) {
        noLimit.getSpec().getResources().setCpu(zero);
      } else {
        noLimit.getSpec().getResources().setMemory(zero);
      }
      assertRejected(noLimit, cpu ? "spec.resources.cpu" : "spec.resources.memory", "a limit of 0 means no limit");
    }

    MicroApp shortRetention = where2eat();
    shortRetention.getSpec().getRetention().setTtl("0d");
    assertRejected(shortRetention, "spec.retention.ttl", "at least 1d");

    MicroApp noAllowList = where2eat();
    noAllowList.getSpec().getAuth().setAllowedGroups(List.of());
    noAllowList.getSpec().getAuth().setAllowedEmailDomains(List.of());
    assertRejected(noAllowList, "spec.auth", "allowedGroups");

    MicroApp tooMany = where2eat();
    tooMany.getSpec().getAuth().setAllowedGroups(java.util.stream.IntStream.range(0, 65).mapToObj(i -> "g" + i).toList());
    assertRejected(tooMany, "spec.auth.allowedGroups", "65");

    MicroApp noSpec = where2eat();
    noSpec.setSpec(null);
    assertRejected(noSpec, "spec", "Required value");

    assertThat(client.resources(MicroApp.class).inNamespace(ns).list().getItems()).isEmpty();
  }

  /**
   * Justifications that are long enough but say nothing an auditor can read: generated from
   * invisible and format characters, spaces and punctuation (optionally with up to 9 letters or
   * digits), every one refused at admission; real reasons in several scripts pass. Server-side dry
   * run, so nothing is stored.
   */
  @Test
  void justificationsWithoutWordsAreRefusedInEverySpelling() {
    int[] noWords = {0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF,
        0x00AD, 0x034F, 0x180E, 0x0301, 0x0308, 0x20DD, 0xE0020, 0xE0041, 0xE007F, 0x2000, 0x2003, 0x200A, 0x3000,
        0x00A0, ' ', '.', '-', '!', '?', '*', '_', 0x2014, 0x3002};
    String letters = "abcXYZ09éßЖ字";
    java.util.Random random = new java.util.Random(20261207);
    for (int i = 0; i < 40; i++) {
      StringBuilder b = new StringBuilder();
      int length = 20 + random.nextInt(60);
      int words = i % 2 == 0 ? 0 : random.nextInt(10); // up to 9 letters or digits hidden among them
      for (int k = 0; k < length; k++) {
        b.appendCodePoint(noWords[random.nextInt(noWords.length)]);
      }
      for (int k = 0; k < words; k++) {
        b.insert(random.nextInt(b.length() + 1), letters.charAt(random.nextInt(letters.length())));
      }
      MicroApp app = where2eat();
      app.getMetadata().setName("justify-" + i);
      app.getSpec().setOverrides(List.of(new DefaultOverride(DefaultOverride.Setting.RETENTION, b.toString())));
      String shown = b.codePoints().mapToObj(c -> String.format("U+%04X", c)).collect(java.util.stream.Collectors.joining(" "));
      assertThatThrownBy(() -> client.resource(app).dryRun().create())
          .as("justification %s", shown)
          .isInstanceOf(KubernetesClientException.class)
          .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
          .hasMessageContaining("spec.overrides[].justification");
    }
    for (String reason : List.of("static page: stores no data, so there is nothing to purge",
        "静的なページで、個人データもフォームもないため削除対象がありません",
        "статическая страница без данных: удалять нечего")) {
      MicroApp app = where2eat();
      app.getSpec().setOverrides(List.of(new DefaultOverride(DefaultOverride.Setting.RETENTION, reason)));
      assertThat(client.resource(app).dryRun().create().getSpec().getOverrides().get(0).getJustification()).isEqualTo(reason);
    }
  }

  /** A random image reference from the grammar spec.image follows (registry, path, tag, digest). */
  static String imageReference(java.util.Random r) {
    String lower = "abcdefghijklmnopqrstuvwxyz0123456789";
    String any = lower + "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    java.util.function.BiFunction<String, Integer, String> run = (alphabet, max) -> {
      StringBuilder b = new StringBuilder();
      for (int i = 0, n = 1 + r.nextInt(max); i < n; i++) {
        b.append(alphabet.charAt(r.nextInt(alphabet.length())));
      }
      return b.toString();
    };
    StringBuilder ref = new StringBuilder();
    if (r.nextBoolean()) {
      ref.append(run.apply(any, 6));
      for (int i = r.nextInt(3); i > 0; i--) {
        ref.append('.').append(run.apply(any, 6));
      }
      if (r.nextInt(3) == 0) {
        ref.append(':').append(1 + r.nextInt(65535));
      }
      ref.append('/');
    }
    String[] separators = {".", "_", "__", "-", "--"};
    for (int c = 0, n = 1 + r.nextInt(3); c < n; c++) {
      ref.append(c > 0 ? "/" : "").append(run.apply(lower, 8));
      for (int i = r.nextInt(3); i > 0; i--) {
        ref.append(separators[r.nextInt(separators.length)]).append(run.apply(lower, 5));
      }
    }
    if (r.nextBoolean()) {
      ref.append(':').append(run.apply(any + "_", 1)).append(r.nextBoolean() ? "" : run.apply(any + "_.-", 30));
    }
    if (r.nextInt(3) == 0) {
      StringBuilder hex = new StringBuilder();
      for (int i = 0; i < 64; i++) {
        hex.append("0123456789abcdef".charAt(r.nextInt(16)));
      }
      ref.append("@sha256:").append(hex);
    }
    return ref.toString();
  }

  /**
   * spec.image takes exactly what a Deployment can pull: generated references from the grammar are
   * accepted by the CRD and by the API server in a Deployment; the same references with a character
   * no reference may contain (whitespace, control, non-ASCII, symbols) inserted anywhere are refused
   * at admission, naming spec.image. Server-side dry run: nothing is stored.
   */
  @Test
  void imageReferencesAreAcceptedExactlyWhenTheyAreReferences() {
    java.util.Random random = new java.util.Random(7_2026_12);
    int[] never = {' ', '\t', '\n', '\r', 0, 1, 0x1b, 0x7f, 0x85, 0xA0, 0x200B, 0xFEFF, 0x2028, 0x0130, 0x0131, 0x017F,
        '!', '#', '$', '%', '&', '*', '(', ')', '+', '=', ',', ';', '<', '>', '?', '[', ']', '{', '}', '|', '\\', '"', '\'', '`', '~', '^'};
    for (int i = 0; i < 30; i++) {
      String image = imageReference(random);
      assertThat(image).as("generator self-check").matches(io.safedefaults.microapp.api.MicroAppSpec.IMAGE_REFERENCE);
      MicroApp app = where2eat();
      app.getSpec().setImage(image);
      assertThat(client.resource(app).dryRun().create().getSpec().getImage()).isEqualTo(image);
      Deployment d = new io.fabric8.kubernetes.api.model.apps.DeploymentBuilder()
          .withNewMetadata().withName("image-" + i).withNamespace(ns).endMetadata()
          .withNewSpec().withNewSelector().addToMatchLabels("a", "b").endSelector()
          .withNewTemplate().withNewMetadata().addToLabels("a", "b").endMetadata()
          .withNewSpec().addNewContainer().withName("app").withImage(image).endContainer().endSpec()
          .endTemplate().endSpec().build();
      assertThat(client.resource(d).dryRun().create().getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
          .as("the Deployment the operator would write").isEqualTo(image);

      StringBuilder bad = new StringBuilder(image);
      int cp = never[random.nextInt(never.length)];
      bad.insert(bad.offsetByCodePoints(0, random.nextInt(image.length() + 1)), Character.toChars(cp));
      MicroApp refused = where2eat();
      refused.getSpec().setImage(bad.toString());
      assertThatThrownBy(() -> client.resource(refused).dryRun().create())
          .as("U+%04X inserted into %s", cp, image)
          .isInstanceOf(KubernetesClientException.class)
          .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
          .hasMessageContaining("spec.image must be an image reference");
    }
  }

  /**
   * Group names the sidecar would refuse at start (blank) or that can only be accidents (line
   * breaks, control characters) are refused at admission, naming the field; names real providers
   * use (spaces, LDAP DNs with commas, other scripts, slashes) pass. Generated, server-side dry run.
   */
  @Test
  void groupNamesTheSidecarWouldRefuseAreRefusedNamingTheEntry() {
    java.util.Random random = new java.util.Random(1207);
    List<String> fine = List.of("food-team", "Food Team", "CN=food,OU=groups,DC=acme,DC=com", "/acme/food", "料理チーム",
        "équipe cuisine", "g_1.2");
    int[] blank = {' ', '\t', 0x00A0, 0x2003, 0x3000, 0x1680, 0x205F};
    int[] broken = {'\n', '\r', 0, 0x07, 0x1b, 0x1c, 0x7f, 0x85, 0x9b, 0x2028, 0x2029};
    for (int i = 0; i < 30; i++) {
      List<String> groups = new java.util.ArrayList<>();
      for (int k = 0, n = 1 + random.nextInt(4); k < n; k++) {
        groups.add(fine.get(random.nextInt(fine.size())));
      }
      StringBuilder bad = new StringBuilder();
      if (i % 2 == 0) {
        for (int k = 0, n = 1 + random.nextInt(5); k < n; k++) {
          bad.appendCodePoint(blank[random.nextInt(blank.length)]);
        }
      } else {
        bad.append(fine.get(random.nextInt(fine.size())));
        bad.insert(random.nextInt(bad.length() + 1), Character.toChars(broken[random.nextInt(broken.length)]));
      }
      int at = random.nextInt(groups.size() + 1);
      groups.add(at, bad.toString());
      MicroApp app = where2eat();
      app.getSpec().getAuth().setAllowedGroups(groups);
      String shown = bad.codePoints().mapToObj(c -> String.format("U+%04X", c)).collect(java.util.stream.Collectors.joining(" "));
      assertThatThrownBy(() -> client.resource(app).dryRun().create())
          .as("allowedGroups[%d] = %s", at, shown)
          .isInstanceOf(KubernetesClientException.class)
          .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
          .hasMessageContaining("spec.auth.allowedGroups[" + at + "]: Invalid value")
          .hasMessageContaining("spec.auth.allowedGroups: every entry must name a group");
    }
    MicroApp ok = where2eat();
    ok.getSpec().getAuth().setAllowedGroups(fine);
    assertThat(client.resource(ok).dryRun().create().getSpec().getAuth().getAllowedGroups()).isEqualTo(fine);
  }

  /**
   * A reconcile that throws (here: the sealing keys cannot be read at all) ends as Ready=False with
   * a one-line reason and one Warning, retries with backoff, and logs its stack trace once however
   * often it retries; the app recovers by itself when the cause goes.
   */
  @Test
  void aReconcileThatThrowsBecomesAConditionAndOneStackTrace() {
    client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    markAvailable(ns, "where2eat");
    awaitCondition(ns, "where2eat", Conditions.READY, "True");
    double before = reconcileFailures();
    int from = logs().size();
    BREAK_RECONCILES.set(true);
    try {
      mergePatch(ns, "where2eat", "{\"metadata\":{\"labels\":{\"touched\":\"1\"}}}");
      MicroApp failed = awaitCondition(ns, "where2eat", Conditions.READY, "False");
      var ready = Conditions.find(failed.getStatus(), Conditions.READY).orElseThrow();
      assertThat(ready.getReason()).isEqualTo("ReconcileFailed");
      assertThat(ready.getMessage()).contains("IllegalStateException").contains("retries in").doesNotContain("\n");
      await().atMost(Duration.ofSeconds(20)).until(() -> reconcileFailures() - before >= 2);
    } finally {
      BREAK_RECONCILES.set(false);
    }
    awaitCondition(ns, "where2eat", Conditions.READY, "True");
    List<ILoggingEvent> all = logs();
    assertThat(all.subList(from, all.size())).filteredOn(e -> e.getThrowableProxy() != null
        && e.getFormattedMessage().contains(ns + "/where2eat")).as("stack traces for the one cause").hasSize(1);
    assertThat(client.v1().events().inNamespace(ns).list().getItems())
        .filteredOn(e -> "ReconcileFailed".equals(e.getReason())).hasSize(1);
  }

  static double reconcileFailures() {
    var c = METRICS.find("microapp_reconcile_errors_total").tag("reason", "ReconcileFailed").counter();
    return c == null ? 0 : c.count();
  }

  /** A bad entry among good ones is named by its index, wherever it is, in every list of strings. */
  @Test
  void listRulesNameTheOffendingEntry() {
    java.util.Random random = new java.util.Random(Long.getLong("lists.seed", 1207));
    List<String> goodPaths = List.of("/admin/**", "/export", "/settings", "/api/v1/delete", "/a.b/c");
    List<String> badPaths = List.of("admin", "/a/../b", "/a/./b", "/x?y", "/x#y", "/x%2e", "/a\\b", "/..");
    List<String> goodDomains = List.of("acme.com", "food.acme.com", "xn--bcher-kva.example");
    List<String> badDomains = List.of("@acme.com", "*.acme.com", "ACME.com", "acme", "acme.com.", "a_b.com");
    for (int i = 0; i < 24; i++) {
      boolean paths = i % 2 == 0;
      List<String> good = paths ? goodPaths : goodDomains;
      List<String> entries = new java.util.ArrayList<>();
      for (int k = 0, n = random.nextInt(5); k < n; k++) {
        entries.add(good.get(random.nextInt(good.size())));
      }
      int at = random.nextInt(entries.size() + 1);
      String bad = (paths ? badPaths : badDomains).get(random.nextInt((paths ? badPaths : badDomains).size()));
      entries.add(at, bad);
      MicroApp app = where2eat();
      if (paths) {
        app.getSpec().getAuth().setAdminPaths(entries);
      } else {
        app.getSpec().getAuth().setAllowedEmailDomains(entries);
      }
      String field = paths ? "spec.auth.adminPaths[" + at + "]" : "spec.auth.allowedEmailDomains[" + at + "]";
      assertThatThrownBy(() -> client.resource(app).dryRun().create()).as("%s = %s", field, bad)
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining(field + ": Invalid value")
          .hasMessageContaining(!paths ? "lowercase domain such as acme.com"
              : bad.startsWith("/") ? "write plain normalised paths" : "start with '/'");
    }
  }

  /**
   * Deleting a namespace full of apps: while it terminates (here for good, as nothing finalizes it
   * without a namespace controller) the API refuses new children, and the operator must not warn,
   * count failures or retry about it. Drift is made so the operator tries to re-create a child.
   */
  @Test
  void appsInATerminatingNamespaceAreLeftQuietly() throws Exception {
    client.resource(where2eat()).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> client.services().inNamespace(ns).withName("where2eat").get() != null);
    client.namespaces().withName(ns).delete();
    await().atMost(Duration.ofSeconds(10)).until(() -> "Terminating".equals(client.namespaces().withName(ns).get().getStatus().getPhase()));
    int from = logs().size();
    client.services().inNamespace(ns).withName("where2eat").delete();
    Thread.sleep(6_000); // three resyncs at the test's 2 s interval
    List<ILoggingEvent> all = logs();
    List<String> noise = all.subList(from, all.size()).stream()
        .filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN))
        .map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.contains(ns) || m.contains("could not apply") || m.contains("being terminated"))
        .toList();
    assertThat(noise).as("warnings about the terminating namespace").isEmpty();
    assertThat(client.services().inNamespace(ns).withName("where2eat").get()).as("nothing re-created").isNull();
    // what the namespace controller would do next (none runs here): the app goes, and with it the
    // operator's attempts, which would count as writes in the resync test
    client.resource(where2eat()).delete();
    await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get() == null);
  }

  /**
   * Names that used to break: the longest name (its purge CronJob would need 69 characters), the
   * first lengths that need shortening, and apps whose names are another app's child names.
   */
  @Test
  void everyNameTheApiAcceptsGetsAllItsChildrenAndSiblingsShareNone() {
    String longest = "l" + "o".repeat(61) + "g";
    List<String> names = List.of("a", "a-purge", "a-auth-proxy", "a-session-keys", "a-purge-token", longest,
        longest.substring(0, 46), longest.substring(0, 47), longest.substring(0, 48) + "-purge");
    for (String name : names) {
      MicroApp app = where2eat();
      app.getMetadata().setName(name);
      app.getSpec().setHost(name + ".apps.example.com");
      client.resource(app).create();
    }
    for (String name : names) {
      MicroApp app = client.resources(MicroApp.class).inNamespace(ns).withName(name).get();
      String purge = Names.purge(app);
      assertThat(purge).as("purge CronJob of " + name).hasSizeLessThanOrEqualTo(52);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        for (var child : List.of(
            client.batch().v1().cronjobs().inNamespace(ns).withName(purge).get(),
            client.configMaps().inNamespace(ns).withName(purge).get(),
            client.secrets().inNamespace(ns).withName(Names.purgeToken(app)).get(),
            client.serviceAccounts().inNamespace(ns).withName(name).get(),
            client.apps().deployments().inNamespace(ns).withName(name).get(),
            client.network().v1().ingresses().inNamespace(ns).withName(name).get())) {
          assertThat(child).as("a child of " + name).isNotNull();
          assertThat(child.getMetadata().getOwnerReferences()).as(child.getKind() + " " + child.getMetadata().getName())
              .singleElement().satisfies(o -> assertThat(o.getUid()).isEqualTo(app.getMetadata().getUid()));
        }
      });
      assertThat(Conditions.find(awaitCondition(ns, name, Conditions.RETENTION_SCHEDULED, "True").getStatus(),
          Conditions.READY).orElseThrow().getReason()).as(name).isEqualTo("PodsNotReady");
    }
  }

  /**
   * A name held by something that is not the app's (a team's own Service, here; the purge's
   * ConfigMap, below) is never taken over: the app stays off the internet, Ready names the object
   * in the way, one Warning says so, and the app converges once the name is free.
   */
  @Test
  void aNameHeldByAnotherObjectIsNeverTakenOverAndTheAppIsNotExposed() {
    client.services().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.ServiceBuilder()
        .withNewMetadata().withName("where2eat").addToLabels("team", "own").endMetadata()
        .withNewSpec().addToSelector("team", "own").addNewPort().withPort(5432).endPort().endSpec().build()).create();
    client.configMaps().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
        .withNewMetadata().withName("where2eat-purge").endMetadata().addToData("theirs", "yes").build()).create();
    client.resource(where2eat()).create();

    await().atMost(Duration.ofSeconds(30)).until(() -> Conditions.find(
        client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get().getStatus(), Conditions.READY)
        .map(c -> "NameTaken".equals(c.getReason())).orElse(false));
    var ready = Conditions.find(client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get()
        .getStatus(), Conditions.READY).orElseThrow();
    assertThat(ready.getMessage()).containsAnyOf("a Service named 'where2eat'", "a ConfigMap named 'where2eat-purge'")
        .contains("rename the MicroApp");
    assertThat(client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get()).as("no Ingress").isNull();
    Service theirs = client.services().inNamespace(ns).withName("where2eat").get();
    assertThat(theirs.getSpec().getSelector()).containsExactly(java.util.Map.entry("team", "own"));
    assertThat(theirs.getMetadata().getOwnerReferences()).isNullOrEmpty();
    assertThat(client.configMaps().inNamespace(ns).withName("where2eat-purge").get().getData())
        .containsExactly(java.util.Map.entry("theirs", "yes"));
    await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(10)).until(() -> true); // two resyncs
    assertThat(client.v1().events().inNamespace(ns).list().getItems())
        .filteredOn(e -> "NameTaken".equals(e.getReason())).as("one Warning per failure").hasSize(1);

    client.services().inNamespace(ns).withName("where2eat").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> Conditions.find(
        client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get().getStatus(), Conditions.READY)
        .map(c -> c.getMessage().contains("ConfigMap named 'where2eat-purge'")).orElse(false));
    assertThat(client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get())
        .as("no Ingress while the purge cannot be set up").isNull();

    client.configMaps().inNamespace(ns).withName("where2eat-purge").delete();
    await().atMost(Duration.ofSeconds(30)).until(
        () -> client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get() != null);
  }

  @Test
  void namesThatCannotNameTheAppsChildrenAreRefusedAtAdmission() {
    for (String bad : List.of("default", "a".repeat(64), "9lives", "dotted.name")) {
      MicroApp app = where2eat();
      app.getMetadata().setName(bad);
      assertRejected(app, "metadata.name", bad.equals("default") ? "default ServiceAccount" : "at most 63 lowercase");
    }
  }

  @Test
  void sealedValuesReachOnlyTheirContainersAndStatusNamesTheirKeys() {
    MicroApp app = where2eat();
    app.getSpec().setSecrets(new SecretsSpec());
    app.getSpec().getSecrets().getSealed().put("MAPS_API_KEY", seal(PLAIN_API_KEY, ns, "where2eat", "MAPS_API_KEY"));
    app.getSpec().getAuth().setClientSecret(new SealedRef(seal(PLAIN_CLIENT_SECRET, ns, "where2eat", Unsealer.CLIENT_SECRET)));
    client.resource(app).create();

    Secret s = await().atMost(Duration.ofSeconds(30))
        .until(() -> client.secrets().inNamespace(ns).withName("where2eat-sealed").get(), x -> x != null);
    assertThat(decode(s, "MAPS_API_KEY")).isEqualTo(PLAIN_API_KEY);
    assertThat(decode(s, "oidc-client-secret")).isEqualTo(PLAIN_CLIENT_SECRET);
    assertThat(s.getMetadata().getOwnerReferences()).hasSize(1);

    Deployment d = await().until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get(),
        x -> x != null && x.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv() != null);
    var pod = d.getSpec().getTemplate().getSpec();
    assertThat(pod.getContainers().get(0).getEnv()).singleElement().satisfies(e -> {
      assertThat(e.getName()).isEqualTo("MAPS_API_KEY");
      assertThat(e.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("MAPS_API_KEY");
    });
    assertThat(pod.getContainers().get(0).getEnvFrom()).as("envFrom would leak the client secret").isNullOrEmpty();
    assertThat(pod.getVolumes()).filteredOn(v -> v.getSecret() != null
            && "where2eat-sealed".equals(v.getSecret().getSecretName()))
        .singleElement().satisfies(v -> assertThat(v.getSecret().getItems()).extracting(i -> i.getKey())
            .containsExactly("oidc-client-secret"));

    MicroApp seen = awaitCondition(ns, "where2eat", Conditions.SECRETS_SEALED, "True");
    assertThat(seen.getStatus().getSealedValues()).extracting(v -> v.name() + "@" + v.keyId() + ":" + v.currentKey())
        .containsExactlyInAnyOrder("MAPS_API_KEY@" + keys.decryptor().primaryKeyId() + ":true",
            "auth.clientSecret@" + keys.decryptor().primaryKeyId() + ":true");
  }

  @Test
  void valuesThatDoNotOpenLeaveThePreviousSecretAndSayWhy() {
    MicroApp app = where2eat();
    app.getSpec().setSecrets(new SecretsSpec());
    app.getSpec().getSecrets().getSealed().put("MAPS_API_KEY", seal(PLAIN_API_KEY, ns, "where2eat", "MAPS_API_KEY"));
    client.resource(app).create();
    Secret before = await().atMost(Duration.ofSeconds(30))
        .until(() -> client.secrets().inNamespace(ns).withName("where2eat-sealed").get(), x -> x != null);

    // Copied from another app: sealed for landing, applied to where2eat.
    setSealed("MAPS_API_KEY", seal("landing-key", ns, "landing", "MAPS_API_KEY"));
    MicroApp a = awaitReason(Conditions.SECRETS_SEALED, "WrongScopeOrTampered");
    assertThat(Conditions.find(a.getStatus(), Conditions.SECRETS_SEALED).orElseThrow().getMessage())
        .startsWith("spec.secrets.sealed.MAPS_API_KEY does not open for " + ns + "/where2eat/MAPS_API_KEY")
        .contains("previous values stay in place");
    assertThat(Conditions.find(a.getStatus(), Conditions.READY).orElseThrow().getReason()).isEqualTo("WrongScopeOrTampered");
    await().untilAsserted(() -> assertThat(client.v1().events().inNamespace(ns).list().getItems())
        .anySatisfy(e -> assertThat(e.getReason()).isEqualTo("WrongScopeOrTampered")));

    // Sealed with a key this cluster never had.
    var foreign = SealingKeys.generate();
    setSealed("MAPS_API_KEY", new Sealer(SealingKeys.publicKeys(foreign))
        .seal("x".getBytes(StandardCharsets.UTF_8), SealedValue.Scope.APP, ns, "where2eat", "MAPS_API_KEY").text());
    a = awaitReason(Conditions.SECRETS_SEALED, "UnknownKey");
    assertThat(Conditions.find(a.getStatus(), Conditions.SECRETS_SEALED).orElseThrow().getMessage())
        .contains("key " + SealingKeys.primaryKeyId(foreign));

    Secret after = client.secrets().inNamespace(ns).withName("where2eat-sealed").get();
    assertThat(after.getData()).isEqualTo(before.getData());
    assertThat(after.getMetadata().getResourceVersion()).isEqualTo(before.getMetadata().getResourceVersion());
  }

  private static int sessionKeyCount(Secret s) throws Exception {
    return com.google.crypto.tink.TinkJsonProtoKeysetFormat.parseKeyset(new String(Base64.getDecoder().decode(
        s.getData().get("session-keyset.json")), StandardCharsets.UTF_8),
        com.google.crypto.tink.InsecureSecretKeyAccess.get()).size();
  }

  @Test
  void sessionKeysRotateOnScheduleAndTheOldKeyGoesOnceNoSessionCanUseIt() throws Exception {
    client.resource(where2eat()).create();
    var keys = client.secrets().inNamespace(ns).withName("where2eat-session-keys");
    Secret created = await().until(keys::get, x -> x != null);
    assertThat(sessionKeyCount(created)).isEqualTo(1);
    String salt = created.getData().get("user-id-salt");
    assertThat(salt).as("hashed user ids get a salt of their own").isNotBlank();

    // the primary key is 31 days old (rotation period 30 days): the next reconcile adds a new primary
    keys.edit(k -> {
      k.getMetadata().getAnnotations().put(SessionKeyRotation.ROTATED_AT, Instant.now().minus(Duration.ofDays(31)).toString());
      return k;
    });
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Secret k = keys.get();
      assertThat(sessionKeyCount(k)).isEqualTo(2);
      assertThat(k.getMetadata().getAnnotations()).containsKey(SessionKeyRotation.RETIRED);
    });

    // 26 hours later no session can hold a cookie from the old key any more: it is removed
    keys.edit(k -> {
      String retired = k.getMetadata().getAnnotations().get(SessionKeyRotation.RETIRED);
      k.getMetadata().getAnnotations().put(SessionKeyRotation.RETIRED,
          retired.replaceAll("=[^,]+", "=" + Instant.now().minus(Duration.ofHours(26))));
      return k;
    });
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Secret k = keys.get();
      assertThat(sessionKeyCount(k)).isEqualTo(1);
      assertThat(k.getMetadata().getAnnotations()).doesNotContainKey(SessionKeyRotation.RETIRED);
      assertThat(k.getData().get("user-id-salt")).isEqualTo(salt);
    });
  }

  @Test
  void rotationKeepsOldValuesOpeningAndTheKeysetSurvivesRestarts() {
    long firstKey = keys.decryptor().primaryKeyId();
    MicroApp app = where2eat();
    app.getSpec().setSecrets(new SecretsSpec());
    app.getSpec().getSecrets().getSealed().put("OLD", seal("old-value", ns, "where2eat", "OLD"));
    client.resource(app).create();
    awaitCondition(ns, "where2eat", Conditions.SECRETS_SEALED, "True");

    keys.rotate();
    long secondKey = keys.decryptor().primaryKeyId();
    assertThat(secondKey).isNotEqualTo(firstKey);
    setSealed("NEW", seal("new-value", ns, "where2eat", "NEW"));

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      MicroApp a = client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get();
      assertThat(a.getStatus().getSealedValues()).extracting(v -> v.name() + ":" + v.currentKey())
          .containsExactlyInAnyOrder("OLD:false", "NEW:true");
      Secret s = client.secrets().inNamespace(ns).withName("where2eat-sealed").get();
      assertThat(decode(s, "OLD")).isEqualTo("old-value");
      assertThat(decode(s, "NEW")).isEqualTo("new-value");
    });

    // A restarted operator loads the same keys instead of making new ones.
    SealingKeyStore restarted = new SealingKeyStore(client, KEYS_NS, Duration.ofDays(30), Clock.systemUTC());
    restarted.ensure();
    assertThat(restarted.decryptor().primaryKeyId()).isEqualTo(secondKey);
    assertThat(SealingKeys.keyIds(restarted.publicKeys())).contains(firstKey, secondKey);
    var published = client.configMaps().inNamespace(KEYS_NS).withName(SealingKeyStore.PUBLIC_CONFIGMAP).get();
    assertThat(published.getData()).containsEntry("primary-key-id", Long.toString(secondKey));
  }

  static String seal(String value, String ns, String app, String key) {
    return new Sealer(keys.publicKeys()).seal(value.getBytes(StandardCharsets.UTF_8), SealedValue.Scope.APP, ns, app, key)
        .text();
  }

  /**
   * Values that never opened leave nothing to keep: the Secret cannot be written, the app stays
   * off the internet, status says why, and the log says it once, not on every retry.
   */
  @Test
  void aChildThatCannotBeWrittenKeepsTheAppOffTheInternetAndIsLoggedOnce() throws Exception {
    int from = logs().size();
    var foreign = SealingKeys.generate();
    MicroApp app = where2eat();
    app.getSpec().setSecrets(new SecretsSpec());
    app.getSpec().getSecrets().getSealed().put("MAPS_API_KEY", new Sealer(SealingKeys.publicKeys(foreign))
        .seal("x".getBytes(StandardCharsets.UTF_8), SealedValue.Scope.APP, ns, "where2eat", "MAPS_API_KEY").text());
    client.resource(app).create();
    awaitReason(Conditions.SECRETS_SEALED, "UnknownKey");
    await().atMost(Duration.ofSeconds(30)).until(() -> client.apps().deployments().inNamespace(ns).withName("where2eat").get() != null);
    Thread.sleep(6_000); // three resyncs at the test's 2 s interval, each failing the same way
    assertThat(client.network().v1().ingresses().inNamespace(ns).withName("where2eat").get()).as("no Ingress").isNull();
    List<ILoggingEvent> all = logs();
    assertThat(all.subList(from, all.size())).filteredOn(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN)
        && (e.getFormattedMessage().contains(ns + "/where2eat") || e.getFormattedMessage().contains("could not apply")))
        .as("warnings about the one failure").hasSize(1);
  }

  void setSealed(String key, String sealed) {
    mergePatch(ns, "where2eat", "{\"spec\":{\"secrets\":{\"sealed\":{\"" + key + "\":\"" + sealed + "\"}}}}");
  }

  MicroApp awaitReason(String type, String reason) {
    return await().atMost(Duration.ofSeconds(30)).until(
        () -> client.resources(MicroApp.class).inNamespace(ns).withName("where2eat").get(),
        a -> a.getStatus() != null && Conditions.find(a.getStatus(), type).map(c -> reason.equals(c.getReason())).orElse(false));
  }

  static String decode(Secret s, String key) {
    return new String(Base64.getDecoder().decode(s.getData().get(key)), StandardCharsets.UTF_8);
  }

  @AfterAll
  static void noPlaintextWasLogged() {
    List<ILoggingEvent> all = logs();
    assertThat(all).isNotEmpty();
    for (ILoggingEvent e : all) {
      String line = e.getFormattedMessage() + " " + java.util.Arrays.toString(e.getArgumentArray())
          + (e.getThrowableProxy() == null ? "" : e.getThrowableProxy().getMessage());
      assertThat(line).doesNotContain(PLAIN_API_KEY).doesNotContain(PLAIN_CLIENT_SECRET).doesNotContain("old-value");
    }
  }

  private void assertRejected(MicroApp app, String field, String hint) {
    assertThatThrownBy(() -> client.resource(app).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining(field)
        .hasMessageContaining(hint);
  }

  /** A user's edit: a merge patch, not bound to the resourceVersion the operator may just have bumped. */
  static void mergePatch(String ns, String name, String json) {
    client.resources(MicroApp.class).inNamespace(ns).withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), json);
  }

  static MicroApp awaitCondition(String ns, String name, String type, String status) {
    return await().atMost(Duration.ofSeconds(30)).until(
        () -> client.resources(MicroApp.class).inNamespace(ns).withName(name).get(),
        a -> a != null && a.getStatus() != null
            && Conditions.find(a.getStatus(), type).map(c -> status.equals(c.getStatus())).orElse(false));
  }

  /** Plays the deployment controller's part: reports one available replica. */
  static void markAvailable(String ns, String name) {
    Deployment d = client.apps().deployments().inNamespace(ns).withName(name).get();
    d.setStatus(new DeploymentStatusBuilder().withReplicas(1).withReadyReplicas(1).withAvailableReplicas(1)
        .withUpdatedReplicas(1).withObservedGeneration(d.getMetadata().getGeneration()).build());
    client.apps().deployments().inNamespace(ns).resource(d).updateStatus();
  }

}
