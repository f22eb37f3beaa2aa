package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * Issue 4, "the operator configures and injects it (wire both ends in one test)": the operator's
 * real output for a MicroApp (the sidecar ConfigMap, the session-key and purge-token Secrets, the
 * Deployment's mounts, args and env) is read back from the cluster, laid out on disk the way the
 * kubelet would mount it, and the real sidecar jar runs on it between a real OIDC provider over
 * HTTPS (mock-oauth2-server with a generated self-signed certificate) and a real upstream app.
 * Everything is then checked over sockets, the way a user or an API client sees it.
 *
 * <p>The only edits to the operator's config.json are the absolute mount paths (re-rooted into
 * {@code e2e/target/sidecar-wiring/pod}) and, only if 4180/4181 are taken on this machine, the two
 * ports; the test asserts that. The sidecar trusts the provider through the JVM's default
 * truststore ({@code -Djavax.net.ssl.trustStore}): its discovery/token client (java.net.http) and
 * its JWKS fetch (Nimbus, HttpsURLConnection) both use the default SSLContext; without the
 * certificate it refuses to start, which the test also checks.
 */
@Order(7)
class SidecarWiringIT extends E2ETestBase {
  static final String APP = "wired";
  static final String ISSUER_ID = "acme";
  static final String GROUP = "food-team";
  static final String ALICE = "alice-sub";
  static final String ALICE_EMAIL = "alice@acme.com";
  static final String MALLORY = "mallory-sub";
  static final String MALLORY_EMAIL = "mallory@elsewhere.example";
  static final String SPOOFED = "spoofed-admin";
  static final String HSTS = "max-age=31536000; includeSubDomains";
  static final String SIDECAR_CONTAINER = "auth-proxy";
  static final String TRUSTSTORE_PASSWORD = "changeit";
  static final Pattern EMAIL = Pattern.compile("[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}");
  private static final ObjectMapper JSON = new ObjectMapper();

  static MockOAuth2Server idp;
  static String issuer;
  static Path truststore;
  static SSLContext trustsIdp;
  static RecordingUpstream upstream;
  static Path work;
  static Process sidecar;
  static Path sidecarStdout;
  static Path sidecarStderr;
  static HttpClient http;
  static long lastSidecarRequest;

  @BeforeAll
  static void startProviderAndApp() throws Exception {
    // under e2e/target beside the operator's logs, so a failure leaves the sidecar's logs to read
    work = ControlPlane.targetDir(ControlPlane.findRepoRoot()).resolve("sidecar-wiring");
    deleteTree(work);
    Files.createDirectories(work);
    // mock-oauth2-server's own SSL option: "ssl": {} without a keystore makes it generate a
    // self-signed certificate for localhost / 127.0.0.1.
    OAuth2Config config = OAuth2Config.Companion.fromJson(
        "{\"interactiveLogin\": false, \"httpServer\": {\"type\": \"MockWebServerWrapper\", \"ssl\": {}}}");
    idp = new MockOAuth2Server(config);
    idp.start(InetAddress.getLoopbackAddress(), 0);
    issuer = idp.issuerUrl(ISSUER_ID).toString();
    assertThat(issuer).startsWith("https://localhost:");

    KeyStore generated = config.getHttpServer().sslConfig().getSslKeystore().getKeyStore();
    Certificate cert = null;
    for (String alias : Collections.list(generated.aliases())) {
      cert = cert != null ? cert : generated.getCertificate(alias);
    }
    assertThat(cert).as("the provider's generated certificate").isNotNull();
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("mock-oauth2-server", cert);
    truststore = work.resolve("idp-truststore.p12");
    try (var out = Files.newOutputStream(truststore)) {
      trust.store(out, TRUSTSTORE_PASSWORD.toCharArray());
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    trustsIdp = SSLContext.getInstance("TLS");
    trustsIdp.init(null, tmf.getTrustManagers(), null);
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(5)).sslContext(trustsIdp).build();

    upstream = new RecordingUpstream("wired-app-" + Long.toHexString(System.nanoTime()));
  }

  @AfterAll
  static void stopEverything() {
    stopSidecar();
    if (idp != null) {
      idp.shutdown();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  @Test
  void theOperatorsOutputRunsTheRealSidecarBetweenARealProviderAndARealApp() throws Exception {
    long t0 = System.nanoTime();
    String ns = newNamespace("wiring");
    applyYaml("""
        apiVersion: safedefaults.io/v1alpha1
        kind: MicroApp
        metadata:
          name: %s
        spec:
          image: ghcr.io/acme/wired:1.0.0
          port: %d
          visibility: private
          auth:
            issuer: %s
            allowedGroups: [%s]
            allowedEmailDomains: [acme.com]
            adminPaths: ["/admin/**"]
          retention:
            ttl: 30d
            purge:
              http: {path: /internal/purge}
        """.formatted(APP, upstream.port(), issuer, GROUP), ns).orFail();

    // ---- 1. the operator's output, read back from the cluster ------------------------------------
    ConfigMap cm = awaitChild("ConfigMap " + APP + "-auth-proxy",
        () -> client().configMaps().inNamespace(ns).withName(APP + "-auth-proxy").get());
    Secret sessionKeys = awaitChild("Secret " + APP + "-session-keys",
        () -> client().secrets().inNamespace(ns).withName(APP + "-session-keys").get());
    Secret purgeTokenSecret = awaitChild("Secret " + APP + "-purge-token",
        () -> client().secrets().inNamespace(ns).withName(APP + "-purge-token").get());
    Deployment deployment = awaitChild("Deployment " + APP,
        () -> client().apps().deployments().inNamespace(ns).withName(APP).get());
    await("AuthEnforced=True").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .until(() -> "True".equals(conditionStatus(microApp(ns, APP), "AuthEnforced")));
    assertThat(cm.getData()).containsKey("config.json");
    assertThat(sessionKeys.getData()).containsKey("session-keyset.json");
    String purgeToken = decode(purgeTokenSecret.getData().get("token")).strip();
    assertThat(purgeToken).isNotBlank();

    String originalJson = cm.getData().get("config.json");
    JsonNode original = JSON.readTree(originalJson);
    String clientId = original.path("oidc").path("clientId").asText();
    assertThat(original.path("oidc").path("issuer").asText()).isEqualTo(issuer);
    assertThat(original.path("upstream").asText()).isEqualTo("http://127.0.0.1:" + upstream.port());
    assertThat(clientId).isNotBlank();

    Container proxy = deployment.getSpec().getTemplate().getSpec().getContainers().stream()
        .filter(c -> SIDECAR_CONTAINER.equals(c.getName())).findFirst()
        .orElseThrow(() -> new AssertionError("no " + SIDECAR_CONTAINER + " container in the Deployment"));
    // the ports the Deployment exposes and probes are the ones the config makes the sidecar listen on
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (ContainerPort p : proxy.getPorts()) {
      ports.put(p.getName(), p.getContainerPort());
    }
    assertThat(ports).containsEntry("auth-http", original.get("listenPort").asInt())
        .containsEntry("auth-admin", original.get("adminPort").asInt());
    assertThat(proxy.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(proxy.getReadinessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("auth-admin");

    // ---- 2. the pod's files, laid out as the kubelet would mount them ----------------------------
    Path root = work.resolve("pod");
    List<String> mountPaths = materialiseMounts(ns, deployment, proxy, root);
    List<String> args = proxy.getArgs();
    assertThat(args).as("container args").hasSize(3).startsWith("proxy", "--config");
    Path configFile = rerooted(root, args.get(2));
    assertThat(Files.readString(configFile)).as("mounted config.json is the ConfigMap's").isEqualTo(originalJson);

    // ---- 3. rewrite only the absolute mount paths (and the ports, only if taken here) ------------
    ObjectNode rewritten = (ObjectNode) original.deepCopy();
    Map<String, String> pathEdits = new LinkedHashMap<>();
    rerootPaths(rewritten, "", mountPaths, root, pathEdits);
    assertThat(pathEdits.keySet()).as("config fields that name mounted files")
        .contains("/session/keysetFile", "/purge/tokenFile")
        .allSatisfy(pointer -> assertThat(pointer).endsWith("File"));
    for (String file : pathEdits.values()) {
      assertThat(Path.of(file)).as("a file the config names is provided by the Deployment's mounts").isRegularFile();
    }
    List<String> portEdits = SidecarProcesses.moveTakenPorts(rewritten);
    if (!portEdits.isEmpty()) {
      ControlPlane.log("SidecarWiringIT: ports taken on this machine, rewritten: " + portEdits);
    }
    // undoing the edits gives back the operator's JSON exactly: nothing else was touched
    ObjectNode undone = rewritten.deepCopy();
    unrootPaths(undone, root);
    undone.set("listenPort", original.get("listenPort"));
    undone.set("adminPort", original.get("adminPort"));
    assertThat(undone).isEqualTo(original);
    Files.writeString(configFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(rewritten));
    int port = rewritten.get("listenPort").asInt();
    int adminPort = rewritten.get("adminPort").asInt();

    // ---- 4. the real sidecar jar on that config -------------------------------------------------
    Path jar = sidecarJar();
    // Without the provider's certificate in the JVM's truststore the sidecar refuses to start: the
    // issuer's TLS is real and the sidecar verifies it with the JVM default truststore.
    Process untrusting = startSidecar(jar, proxy, root, configFile, false, work.resolve("sidecar-untrusting"));
    assertThat(untrusting.waitFor(60, TimeUnit.SECONDS)).as("sidecar without the truststore exits").isTrue();
    String untrustingErr = Files.readString(work.resolve("sidecar-untrusting.err"));
    assertThat(untrusting.exitValue()).as(untrustingErr).isEqualTo(2);
    assertThat(untrustingErr).contains("OIDC discovery").contains("failed").contains("SSL");

    sidecarStdout = work.resolve("sidecar.out");
    sidecarStderr = work.resolve("sidecar.err");
    sidecar = startSidecar(jar, proxy, root, configFile, true, work.resolve("sidecar"));
    SidecarProcesses.awaitReady("the sidecar", sidecar, http, adminPort, sidecarStdout, sidecarStderr);
    String base = "http://127.0.0.1:" + port;
    List<HttpResponse<String>> responses = new ArrayList<>();
    List<String> secrets = new ArrayList<>(List.of(purgeToken));

    // ---- 5a. an anonymous browser is sent to the provider: code flow, PKCE S256, state, nonce ----
    HttpResponse<String> login = sidecarGet(base + "/menu?day=fri", "Accept", "text/html");
    responses.add(login);
    assertThat(login.statusCode()).as(login.body()).isEqualTo(302);
    String location = login.headers().firstValue("Location").orElseThrow();
    assertThat(location).startsWith(issuer + "/authorize?");
    Map<String, String> q = query(URI.create(location));
    assertThat(q).containsEntry("response_type", "code").containsEntry("client_id", clientId)
        .containsEntry("code_challenge_method", "S256").containsEntry("redirect_uri", base + "/oauth2/callback")
        .containsKeys("code_challenge", "state", "nonce");
    assertThat(q.get("state")).isNotBlank();
    assertThat(q.get("nonce")).isNotBlank();
    assertThat(q.get("code_challenge")).matches("[A-Za-z0-9_-]{43}");
    assertThat(q.get("scope").split(" ")).contains("openid");
    String loginCookie = cookie(login, "__Host-microapp-login");
    secrets.add(loginCookie);
    assertThat(upstream.drain()).as("nothing reached the app").isEmpty();

    // ---- 5b. ... signs in there, and the session (sealed with the operator's keyset) gets in ----
    idp.enqueueCallback(new DefaultOAuth2TokenCallback(ISSUER_ID, ALICE, "JWT", List.of(clientId),
        Map.of("email", ALICE_EMAIL, "email_verified", true, "groups", List.of(GROUP)), 3600));
    HttpResponse<String> authorize = http.send(HttpRequest.newBuilder(URI.create(location))
        .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(authorize.statusCode()).as(authorize.body()).isEqualTo(302);
    String callback = authorize.headers().firstValue("Location").orElseThrow();
    assertThat(callback).startsWith(base + "/oauth2/callback?");
    secrets.add(query(URI.create(callback)).get("code"));
    HttpResponse<String> signedIn = sidecarGet(callback, "Accept", "text/html",
        "Cookie", "__Host-microapp-login=" + loginCookie);
    responses.add(signedIn);
    assertThat(signedIn.statusCode()).as(signedIn.body()).isEqualTo(200);
    String setSession = signedIn.headers().allValues("Set-Cookie").stream()
        .filter(c -> c.startsWith("__Host-microapp-session=")).findFirst().orElseThrow();
    assertThat(setSession).contains("HttpOnly").contains("Secure").contains("SameSite=Strict").contains("Path=/");
    String session = cookie(signedIn, "__Host-microapp-session");
    secrets.add(session);
    HttpResponse<String> page = sidecarGet(base + "/menu?day=fri", "Accept", "text/html",
        "Cookie", "__Host-microapp-session=" + session);
    responses.add(page);
    assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
    assertThat(page.body()).startsWith(upstream.marker);
    RecordingUpstream.Received viaSession = upstream.next();
    assertThat(viaSession.uri()).isEqualTo("/menu?day=fri");
    assertThat(viaSession.headerAnySpelling("X-Forwarded-User")).containsExactly(ALICE);

    // ---- 5c. API clients: no credentials -> 401, never a redirect --------------------------------
    HttpResponse<String> anonymousApi = sidecarGet(base + "/api/orders", "Accept", "application/json");
    responses.add(anonymousApi);
    assertThat(anonymousApi.statusCode()).isEqualTo(401);

    // ---- 5d. a valid bearer token reaches the app with the sidecar's identity, not the client's --
    String aliceToken = token(ALICE, clientId, Map.of("email", ALICE_EMAIL, "email_verified", true,
        "groups", List.of(GROUP)));
    secrets.add(aliceToken);
    HttpResponse<String> api = sidecarGet(base + "/api/orders?page=2", "Accept", "application/json",
        "Authorization", "Bearer " + aliceToken, "X-Forwarded-User", SPOOFED, "X_Forwarded_User", SPOOFED,
        "X-Forwarded-Groups", "admins", "X-Auth-Request-User", SPOOFED);
    responses.add(api);
    assertThat(api.statusCode()).as(api.body()).isEqualTo(200);
    assertThat(api.body()).startsWith(upstream.marker + "\n");
    RecordingUpstream.Received seen = upstream.next();
    assertThat(seen.uri()).isEqualTo("/api/orders?page=2");
    assertThat(seen.headerAnySpelling("X-Forwarded-User")).containsExactly(ALICE);
    assertThat(seen.headerAnySpelling("X-Forwarded-Email")).containsExactly(ALICE_EMAIL);
    assertThat(seen.headerAnySpelling("X-Forwarded-Groups")).containsExactly(GROUP);
    assertThat(seen.headerAnySpelling("X-Auth-Request-User")).isEmpty();
    assertThat(seen.headers().values()).noneMatch(v -> String.join(",", v).contains(SPOOFED));
    assertThat(api.body()).doesNotContain(SPOOFED);

    // ---- 5e. a valid token without an allowed group (or domain) is denied ------------------------
    String malloryToken = token(MALLORY, clientId, Map.of("email", MALLORY_EMAIL, "email_verified", true,
        "groups", List.of("other-team")));
    secrets.add(malloryToken);
    HttpResponse<String> denied = sidecarGet(base + "/api/orders", "Accept", "application/json",
        "Authorization", "Bearer " + malloryToken);
    responses.add(denied);
    assertThat(denied.statusCode()).as(denied.body()).isEqualTo(403);

    // ---- 5f. admin paths need MFA: 403 without an MFA amr, through with one ----------------------
    HttpResponse<String> noMfa = sidecarGet(base + "/admin/x", "Accept", "application/json",
        "Authorization", "Bearer " + aliceToken);
    responses.add(noMfa);
    assertThat(noMfa.statusCode()).as(noMfa.body()).isEqualTo(403);
    assertThat(noMfa.body()).contains("mfa_required");
    assertThat(upstream.drain()).as("denied requests never reach the app").isEmpty();
    String aliceMfa = token(ALICE, clientId, Map.of("email", ALICE_EMAIL, "email_verified", true,
        "groups", List.of(GROUP), "amr", List.of("pwd", "mfa")));
    secrets.add(aliceMfa);
    HttpResponse<String> withMfa = sidecarGet(base + "/admin/x", "Accept", "application/json",
        "Authorization", "Bearer " + aliceMfa);
    responses.add(withMfa);
    assertThat(withMfa.statusCode()).as(withMfa.body()).isEqualTo(200);
    assertThat(upstream.next().uri()).isEqualTo("/admin/x");

    // ---- 5g. the purge path answers only to the token in <app>-purge-token -----------------------
    String purgePath = "/internal/purge?olderThan=2026-01-01T00:00:00Z";
    String wrongToken = purgeToken.substring(0, purgeToken.length() - 1)
        + (purgeToken.endsWith("A") ? "B" : "A");
    for (String[] attempt : List.of(new String[0], new String[] {"Authorization", "Bearer " + wrongToken},
        new String[] {"Authorization", "Bearer " + aliceMfa})) {
      HttpResponse<String> refused = sidecarSend("POST", base + purgePath, attempt);
      responses.add(refused);
      assertThat(refused.statusCode()).as("purge with %s: %s", attempt.length == 0 ? "no token" : "a wrong token",
          refused.body()).isEqualTo(403);
    }
    assertThat(upstream.drain()).isEmpty();
    HttpResponse<String> purged = sidecarSend("POST", base + purgePath, "Authorization", "Bearer " + purgeToken);
    responses.add(purged);
    assertThat(purged.statusCode()).as(purged.body()).isEqualTo(200);
    assertThat(purged.body()).startsWith(upstream.marker);
    RecordingUpstream.Received purge = upstream.next();
    assertThat(purge.method()).isEqualTo("POST");
    assertThat(purge.uri()).isEqualTo(purgePath);
    assertThat(purge.header("authorization")).as("the app never sees the job's token").isEmpty();

    // ---- 5h. HSTS on every answer, the app's and the sidecar's own ------------------------------
    assertThat(responses).allSatisfy(r -> assertThat(r.headers().allValues("Strict-Transport-Security"))
        .as("%s %s -> %d", r.request().method(), r.request().uri().getPath(), r.statusCode()).containsExactly(HSTS));
    HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/readyz"))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(ready.statusCode()).isEqualTo(200);

    // ---- 6. the sidecar's log: present, and free of tokens, cookies and e-mail addresses ---------
    await("the purge call is in the sidecar's log").atMost(Duration.ofSeconds(10))
        .until(() -> Files.readString(sidecarStdout).contains("/internal/purge"));
    int exit = stopSidecar();
    assertThat(exit).as("SIGTERM stops the sidecar cleanly").isIn(0, 143);
    String log = Files.readString(sidecarStdout);
    assertThat(log).contains("\"event\":\"sign_in\"").contains("\"event\":\"purge\"");
    for (String s : secrets) {
      assertThat(log).as("the sidecar's stdout holds no token or cookie").doesNotContain(s);
      if (s.chars().filter(c -> c == '.').count() == 2) {
        assertThat(log).doesNotContain(s.substring(s.lastIndexOf('.') + 1)); // a JWT's signature alone
      }
    }
    assertThat(log).doesNotContain(ALICE_EMAIL).doesNotContain(MALLORY_EMAIL);
    Matcher m = EMAIL.matcher(log);
    assertThat(m.find() ? m.group() : null).as("an e-mail address in the sidecar's stdout").isNull();
    assertOperatorAlive();
    ControlPlane.log("SidecarWiringIT: " + responses.size() + " requests through the sidecar; "
        + (portEdits.isEmpty() ? "ports 4180/4181 as configured" : "ports rewritten " + portEdits) + "; took "
        + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");
  }

  // ---------------------------------------------------------------------------------------------

  private static <T> T awaitChild(String what, java.util.concurrent.Callable<T> get) {
    try {
      return await(what + " created by the operator").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
          .until(get, x -> x != null);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(what + " not created within 60 s; operator log tail:\n" + operator().logTail(30), e);
    }
  }

  /**
   * Writes every ConfigMap and Secret volume the sidecar container mounts under {@code root}, as the
   * kubelet would (all keys, or the listed items), and creates its emptyDirs. Returns the mount paths.
   */
  private static List<String> materialiseMounts(String ns, Deployment d, Container c, Path root) throws IOException {
    Map<String, Volume> volumes = new LinkedHashMap<>();
    for (Volume v : d.getSpec().getTemplate().getSpec().getVolumes()) {
      volumes.put(v.getName(), v);
    }
    List<String> mountPaths = new ArrayList<>();
    for (VolumeMount mount : c.getVolumeMounts()) {
      Volume v = volumes.get(mount.getName());
      assertThat(v).as("volume %s of mount %s", mount.getName(), mount.getMountPath()).isNotNull();
      Path dir = rerooted(root, mount.getMountPath());
      Files.createDirectories(dir);
      mountPaths.add(mount.getMountPath());
      Map<String, String> files;
      List<KeyToPath> items;
      if (v.getConfigMap() != null) {
        ConfigMap cm = client().configMaps().inNamespace(ns).withName(v.getConfigMap().getName()).get();
        assertThat(cm).as("ConfigMap %s mounted at %s", v.getConfigMap().getName(), mount.getMountPath()).isNotNull();
        files = cm.getData();
        items = v.getConfigMap().getItems();
      } else if (v.getSecret() != null) {
        Secret s = client().secrets().inNamespace(ns).withName(v.getSecret().getSecretName()).get();
        assertThat(s).as("Secret %s mounted at %s", v.getSecret().getSecretName(), mount.getMountPath()).isNotNull();
        files = new LinkedHashMap<>();
        for (var e : s.getData().entrySet()) {
          files.put(e.getKey(), decode(e.getValue()));
        }
        items = v.getSecret().getItems();
      } else if (v.getEmptyDir() != null) {
        continue;
      } else {
        throw new AssertionError("the sidecar mounts a volume kind this test cannot lay out: " + v);
      }
      if (items == null || items.isEmpty()) {
        for (var e : files.entrySet()) {
          Files.writeString(dir.resolve(e.getKey()), e.getValue());
        }
      } else {
        for (KeyToPath item : items) {
          assertThat(files).as("key %s of the volume at %s", item.getKey(), mount.getMountPath()).containsKey(item.getKey());
          Path file = dir.resolve(item.getPath());
          Files.createDirectories(file.getParent());
          Files.writeString(file, files.get(item.getKey()));
        }
      }
    }
    return mountPaths;
  }

  /**
   * Re-roots every string value that is an absolute path below one of {@code mountPaths} into
   * {@code root}; records each edit by JSON pointer.
   */
  private static void rerootPaths(JsonNode node, String pointer, List<String> mountPaths, Path root,
      Map<String, String> edits) {
    mapText(node, pointer, value -> mountPaths.stream().anyMatch(m -> value.startsWith(m.endsWith("/") ? m : m + "/"))
        ? rerooted(root, value).toString() : null, edits);
  }

  /** The inverse of {@link #rerootPaths}: strips {@code root} from every value below it. */
  private static void unrootPaths(JsonNode node, Path root) {
    String prefix = root.toString();
    mapText(node, "", value -> value.startsWith(prefix + "/") ? value.substring(prefix.length()) : null,
        new LinkedHashMap<>());
  }

  /** Replaces string values of object fields where {@code edit} returns non-null. */
  private static void mapText(JsonNode node, String pointer, java.util.function.UnaryOperator<String> edit,
      Map<String, String> edits) {
    if (node instanceof ObjectNode o) {
      for (var it = o.fields(); it.hasNext(); ) {
        var e = it.next();
        String p = pointer + "/" + e.getKey();
        String replaced = e.getValue().isTextual() ? edit.apply(e.getValue().asText()) : null;
        if (replaced != null) {
          e.setValue(TextNode.valueOf(replaced));
          edits.put(p, replaced);
        } else {
          mapText(e.getValue(), p, edit, edits);
        }
      }
    } else if (node != null && node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        mapText(node.get(i), pointer + "/" + i, edit, edits);
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static Path rerooted(Path root, String absolute) {
    assertThat(absolute).startsWith("/");
    return root.resolve(absolute.substring(1));
  }

  private static String decode(String base64) {
    return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
  }

  /** The shaded sidecar jar: E2E_SIDECAR_JAR, else sidecar/target/microapp-sidecar-all.jar. */
  private static Path sidecarJar() {
    String env = System.getenv("E2E_SIDECAR_JAR");
    Path jar = env != null && !env.isBlank() ? Path.of(env) : repoRoot().resolve("sidecar/target/microapp-sidecar-all.jar");
    assertThat(jar).as("the sidecar's shaded jar; build it with: mvn -pl sidecar -DskipTests package").isRegularFile();
    return jar;
  }

  /**
   * {@code java <the container's JAVA_TOOL_OPTIONS> -jar sidecar.jar <the container's args>}, args
   * re-rooted; with {@code trustIdp} the JVM default truststore is the provider's certificate.
   */
  private static Process startSidecar(Path jar, Container c, Path root, Path configFile, boolean trustIdp, Path logBase)
      throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    if (trustIdp) {
      cmd.addAll(List.of("-Djavax.net.ssl.trustStore=" + truststore, "-Djavax.net.ssl.trustStorePassword=" + TRUSTSTORE_PASSWORD,
          "-Djavax.net.ssl.trustStoreType=PKCS12"));
    }
    if (c.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/tmp"))) {
      cmd.add("-Djava.io.tmpdir=" + rerooted(root, "/tmp"));
    }
    cmd.addAll(List.of("-jar", jar.toString()));
    for (String arg : c.getArgs()) {
      cmd.add(arg.startsWith("/") ? rerooted(root, arg).toString() : arg);
    }
    assertThat(cmd).contains(configFile.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectOutput(Path.of(logBase + ".out").toFile())
        .redirectError(Path.of(logBase + ".err").toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    if (c.getEnv() != null) {
      for (EnvVar e : c.getEnv()) {
        if (e.getValue() != null) {
          pb.environment().put(e.getName(), e.getValue());
        }
      }
    }
    ControlPlane.log("starting sidecar: " + String.join(" ", cmd.subList(1, cmd.size())));
    return pb.start();
  }

  private static synchronized int stopSidecar() {
    Process p = sidecar;
    sidecar = null;
    if (p == null) {
      return -1;
    }
    p.destroy();
    try {
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
    return p.isAlive() ? -1 : p.exitValue();
  }

  private static String token(String subject, String audience, Map<String, Object> claims) {
    return idp.issueToken(ISSUER_ID, subject, audience, claims, 3600).serialize();
  }

  private static HttpResponse<String> sidecarGet(String url, String... headers) throws Exception {
    return sidecarSend("GET", url, headers);
  }

  /**
   * One request to the sidecar, at most about six a second: the operator's default per-IP burst
   * (10/s) applies to this test's loopback address too, and this test checks auth, not limits.
   */
  private static HttpResponse<String> sidecarSend(String method, String url, String... headers) throws Exception {
    long wait = lastSidecarRequest + 160 - System.currentTimeMillis();
    if (wait > 0) {
      Thread.sleep(wait);
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .method(method, HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } finally {
      lastSidecarRequest = System.currentTimeMillis();
    }
  }

  private static String cookie(HttpResponse<?> r, String name) {
    return r.headers().allValues("Set-Cookie").stream().filter(c -> c.startsWith(name + "="))
        .map(c -> c.substring(name.length() + 1, c.indexOf(';') < 0 ? c.length() : c.indexOf(';')))
        .filter(v -> !v.isEmpty()).findFirst()
        .orElseThrow(() -> new AssertionError("no " + name + " cookie in " + r.headers().allValues("Set-Cookie")));
  }

  private static Map<String, String> query(URI uri) {
    Map<String, String> out = new LinkedHashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.put(k, v);
    }
    return out;
  }


}
