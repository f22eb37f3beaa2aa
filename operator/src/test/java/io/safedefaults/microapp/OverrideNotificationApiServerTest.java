package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubeapitest.junit.EnableKubeAPIServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import io.safedefaults.microapp.api.SealedRef;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.audit.OverrideNotifier;
import io.safedefaults.microapp.hosts.HostClaims;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.PolicyWatch;
import io.safedefaults.microapp.secrets.SealedValue;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.status.Conditions;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Override notifications on a real kube-apiserver, to a real HTTP receiver: relaxing a default
 * tells the policy's webhook and the cluster default exactly once each, resyncs tell no one, a
 * namespace the policy does not select tells only the default, a failing receiver gets the same
 * message again with backoff until it takes it, and neither the message nor the log carries the
 * webhook's token, a sealed value (sealed or opened) or an e-mail address.
 */
@EnableKubeAPIServer(apiServerFlags = {"--bind-address", "127.0.0.1"})
class OverrideNotificationApiServerTest {
  static KubernetesClient client;
  static final String OPERATOR_NS = "microapp-system";
  static final String TOKEN = "hook-token-5ecr3t-9f2a";
  static final String PLAIN_CLIENT_SECRET = "plain-client-secret-notify-31";
  static final ListAppender<ILoggingEvent> LOGS = new ListAppender<>();
  static final ObjectMapper JSON = new ObjectMapper();
  /** Keys whose value is no usable webhook (or that the Secret lacks): nothing is sent there, and the log says why. */
  static final List<String> BAD_KEYS = List.of("plain-http", "user-info", "ftp", "not-a-url", "missing");

  record Received(String path, int status, String body) {}

  static final List<Received> RECEIVED = new CopyOnWriteArrayList<>();
  /** 503s still to answer, by path: a receiver that is down for a while. */
  static final Map<String, AtomicInteger> FAILURES = new ConcurrentHashMap<>();
  static HttpServer receiver;
  static SealingKeyStore keys;
  static PolicyWatch policies;
  static Operator operator;
  static OverrideNotifier notifier;

  @BeforeAll
  static void start() throws Exception {
    LOGS.start();
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(LOGS);
    receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    receiver.createContext("/hooks/", x -> {
      String path = x.getRequestURI().getPath();
      String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      boolean token = ("token=" + TOKEN).equals(x.getRequestURI().getRawQuery());
      AtomicInteger failures = FAILURES.get(path);
      int status = !token ? 403 : failures != null && failures.getAndDecrement() > 0 ? 503 : 200;
      RECEIVED.add(new Received(path, status, body));
      x.sendResponseHeaders(status, -1);
      x.close();
    });
    receiver.start();
    String base = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hooks/";

    TestCluster.installCrd(client);
    TestCluster.installCrd(client, TestFiles.POLICIES);
    namespace(OPERATOR_NS, Map.of());
    namespace("team-food", Map.of("team", "food"));
    namespace("team-quiet", Map.of("team", "quiet"));
    client.resource(new SecretBuilder().withNewMetadata().withName(OverrideNotifier.SECRET).withNamespace(OPERATOR_NS)
        .endMetadata().addToStringData("food-channel", base + "food?token=" + TOKEN)
        .addToStringData("security", base + "security?token=" + TOKEN)
        .addToStringData("plain-http", "http://hooks.example.com/x?token=" + TOKEN)
        .addToStringData("user-info", "https://bot:" + TOKEN + "@hooks.example.com/x")
        .addToStringData("ftp", "ftp://hooks.example.com/" + TOKEN)
        .addToStringData("not-a-url", "https://hooks example com/" + TOKEN).build()).create();
    namespace("team-strict", Map.of("team", "strict"));
    for (String key : BAD_KEYS) {
      MicroAppPolicy p = new MicroAppPolicy();
      p.setMetadata(new ObjectMetaBuilder().withName("strict-" + key).build());
      p.setSpec(new MicroAppPolicySpec());
      p.getSpec().setNamespaceSelector(NamespaceSelector.labels(Map.of("team", "strict")));
      p.getSpec().setNotify(new MicroAppPolicySpec.Notify());
      p.getSpec().getNotify().setWebhookSecretKey(key);
      client.resource(p).create();
    }
    MicroAppPolicy food = new MicroAppPolicy();
    food.setMetadata(new ObjectMetaBuilder().withName("food").build());
    food.setSpec(new MicroAppPolicySpec());
    food.getSpec().setNamespaceSelector(NamespaceSelector.labels(Map.of("team", "food")));
    food.getSpec().setNotify(new MicroAppPolicySpec.Notify());
    food.getSpec().getNotify().setWebhookSecretKey("food-channel");
    client.resource(food).create();

    keys = new SealingKeyStore(client, OPERATOR_NS, Duration.ofDays(30), Clock.systemUTC());
    keys.ensure();
    OperatorConfig flags = OperatorConfig.builder().clusterIssuer("letsencrypt-test")
        .defaultIssuer("https://login.example.com/realms/acme").build();
    policies = new PolicyWatch(client, flags, java.time.Clock.systemUTC()).start();
    MicroAppReconciler reconciler = new MicroAppReconciler(policies, new HostClaims(OPERATOR_NS),
        new OperatorMetrics(new SimpleMeterRegistry()), keys::decryptor, Duration.ofDays(30), Clock.systemUTC());
    policies.onChange(reconciler::policyChanged);
    notifier = new OverrideNotifier(client, OPERATOR_NS, policies::notifyKeys, "security", Duration.ofMillis(200), 5);
    reconciler.notifyOverridesTo(notifier);
    operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false));
    operator.register(reconciler, o -> o.withReconciliationMaxInterval(Duration.ofSeconds(2)));
    operator.start();
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.stop();
    }
    if (policies != null) {
      policies.close();
    }
    if (notifier != null) {
      notifier.close();
    }
    if (receiver != null) {
      receiver.stop(0);
    }
  }

  static void namespace(String name, Map<String, String> labels) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels)
        .addToLabels("pod-security.kubernetes.io/enforce", "restricted").endMetadata().build()).serverSideApply();
  }

  /** A public app by a justified override whose justification names a person, with a sealed client secret. */
  static MicroApp publicApp(String ns, String name) {
    MicroApp app = TestApps.where2eat(ns);
    app.getMetadata().setName(name);
    app.getSpec().setHost(name + "." + ns + ".apps.example.com");
    app.getSpec().setVisibility(Visibility.PUBLIC);
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.VISIBILITY,
        "public menu page, no personal data; ask chef.ops@example.com"));
    app.getSpec().getAuth().setClientSecret(new SealedRef(new Sealer(keys.publicKeys())
        .seal(PLAIN_CLIENT_SECRET.getBytes(StandardCharsets.UTF_8), SealedValue.Scope.APP, ns, name,
            Unsealer.CLIENT_SECRET).text()));
    return app;
  }

  static List<Received> about(String app, String path) {
    return RECEIVED.stream().filter(r -> r.path().equals(path) && r.body().contains("/" + app + ":")).toList();
  }

  static void awaitRelaxed(String ns, String name) {
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      MicroApp a = client.resources(MicroApp.class).inNamespace(ns).withName(name).get();
      return a != null && Conditions.find(a.getStatus(), Conditions.DEFAULTS_RELAXED)
          .map(c -> "True".equals(c.getStatus())).orElse(false);
    });
  }

  @Test
  void relaxingADefaultTellsEachTargetOnceAndResyncsTellNoOne() throws Exception {
    MicroApp app = publicApp("team-food", "menu");
    client.resource(app).create();
    awaitRelaxed("team-food", "menu");
    await().atMost(Duration.ofSeconds(20)).until(() -> about("menu", "/hooks/food").size() == 1
        && about("menu", "/hooks/security").size() == 1);
    Thread.sleep(7000); // three resyncs and more
    assertThat(about("menu", "/hooks/food")).as("the policy's webhook, once").hasSize(1);
    assertThat(about("menu", "/hooks/security")).as("the cluster default, once").hasSize(1);

    Received food = about("menu", "/hooks/food").get(0);
    JsonNode body = JSON.readTree(food.body());
    assertThat(body.size()).as("Slack/Teams shape: {\"text\": ...}").isEqualTo(1);
    assertThat(body.get("text").asText()).contains("team-food/menu", "visibility", "public menu page, no personal data",
        "[address removed]");
    String sealed = app.getSpec().getAuth().getClientSecret().getSealed();
    for (Received r : about("menu", "/hooks/food")) {
      assertThat(r.body()).doesNotContain("chef.ops@example.com", "example.com/", TOKEN, PLAIN_CLIENT_SECRET,
          sealed.substring(0, 40));
    }
    List<String> logged = new ArrayList<>();
    synchronized (LOGS) {
      LOGS.list.forEach(e -> logged.add(e.getFormattedMessage() + " "
          + (e.getArgumentArray() == null ? "" : java.util.Arrays.toString(e.getArgumentArray()))));
    }
    assertThat(logged).anyMatch(l -> l.contains("override.notification") && l.contains("sent"));
    assertThat(logged).noneMatch(l -> l.contains(TOKEN) || l.contains("/hooks/"));
  }

  @Test
  void relaxingOneMoreDefaultOnAnAlreadyRelaxedAppTellsAgain() throws Exception {
    client.resource(publicApp("team-food", "cafe")).create();
    awaitRelaxed("team-food", "cafe");
    await().atMost(Duration.ofSeconds(20)).until(() -> about("cafe", "/hooks/food").size() == 1);
    TestCluster.retryOnConflict(() -> client.resources(MicroApp.class).inNamespace("team-food").withName("cafe")
        .edit(a -> {
          a.getSpec().getOverrides().add(new DefaultOverride(Setting.RETENTION, "static page: stores no data"));
          return a;
        }));
    await().atMost(Duration.ofSeconds(30)).until(() -> about("cafe", "/hooks/food").size() == 2);
    assertThat(about("cafe", "/hooks/food").get(1).body()).contains("retention", "static page: stores no data");
    Thread.sleep(5000); // resyncs of the unchanged relaxation tell no one
    assertThat(about("cafe", "/hooks/food")).hasSize(2);
  }

  @Test
  void aNamespaceThePolicyDoesNotSelectTellsOnlyTheClusterDefault() {
    client.resource(publicApp("team-quiet", "kiosk")).create();
    awaitRelaxed("team-quiet", "kiosk");
    await().atMost(Duration.ofSeconds(20)).until(() -> about("kiosk", "/hooks/security").size() == 1);
    assertThat(about("kiosk", "/hooks/food")).isEmpty();
  }

  @Test
  void aTargetThatIsNoHttpsUrlIsNotSentToAndTheAuditSaysWhichKey() {
    client.resource(publicApp("team-strict", "counter")).create();
    awaitRelaxed("team-strict", "counter");
    await().atMost(Duration.ofSeconds(20)).until(() -> about("counter", "/hooks/security").size() == 1);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      List<String> notSent = new ArrayList<>();
      synchronized (LOGS) {
        LOGS.list.stream().filter(e -> e.getArgumentArray() != null)
            .map(e -> java.util.Arrays.toString(e.getArgumentArray()))
            .filter(a -> a.contains("override.notification") && a.contains("not_sent") && a.contains("counter"))
            .forEach(notSent::add);
      }
      for (String key : BAD_KEYS) {
        assertThat(notSent).as(key).anyMatch(a -> a.contains("target=" + key));
      }
      assertThat(notSent).noneMatch(a -> a.contains(TOKEN) || a.contains("hooks.example.com"));
    });
  }

  @Test
  void aFailingReceiverGetsTheSameMessageAgainUntilItTakesIt() {
    FAILURES.put("/hooks/food", new AtomicInteger(2));
    client.resource(publicApp("team-food", "bistro")).create();
    awaitRelaxed("team-food", "bistro");
    await().atMost(Duration.ofSeconds(30)).until(() -> about("bistro", "/hooks/food").stream()
        .anyMatch(r -> r.status() == 200));
    List<Received> tries = about("bistro", "/hooks/food");
    assertThat(tries).extracting(Received::status).containsExactly(503, 503, 200);
    assertThat(tries).extracting(Received::body).containsOnly(tries.get(0).body());
    assertThat(about("bistro", "/hooks/security")).extracting(Received::status).containsExactly(200);
  }
}
