package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.safedefaults.microapp.workload.AppDeployment;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The two container images the build writes ({@code sidecar/target/microapp-sidecar-image.tar},
 * {@code operator/target/microapp-operator-image.tar}, see e2e/README.md "Container images"), as a
 * registry and a kubelet would take them, without a container engine:
 *
 * <ul>
 *   <li>skopeo reads each archive (as docker-archive and as OCI archive) and reports the tag the
 *       operator and the chart use, linux/amd64, user 10001 and the entrypoint;
 *   <li>skopeo copies it into an OCI layout and umoci unpacks it into a root filesystem plus an OCI
 *       runtime config; the entrypoint from that config runs inside the rootfs with {@code chroot
 *       --userspec} in a private mount namespace ({@code unshare --mount}) that mounts what a
 *       container runtime and the kubelet would: /proc, /dev, a tmpfs at /tmp, the pod's volumes
 *       read-only, the root filesystem read-only, no_new_privs;
 *   <li>the operator image renders an app, the sidecar image runs that output (args, env with the
 *       operator's JVM flags, volumes, pod user) between an HTTPS OIDC provider and an app, and its
 *       purge job runs once through it;
 *   <li>the unpacked files: root-owned, nothing writable by 10001 except /tmp, no setuid/setgid, no
 *       build-machine paths, home directories or private keys.
 * </ul>
 *
 * Needs root (chroot, mount namespaces; the CI runs as root) and skopeo + umoci
 * ({@code e2e/install-test-deps.sh}). Uses no cluster.
 */
@Order(8)
class ContainerImageIT {
  static final String ISSUER_ID = "acme";
  static final String APP = "imaged";
  static final String NS = "team-img";
  static final String GROUP = "food-team";
  static final String ALICE = "alice-sub";
  static final String TRUSTSTORE_PASSWORD = "changeit";
  static final String IMAGE_USER = "10001:10001";
  static final Pattern PRIVATE_KEY = Pattern.compile(
      "-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----\\s*[A-Za-z0-9+/=]{40}");
  static final Pattern KEY_FILE_NAME = Pattern.compile(
      "(?i).*(\\.(pem|key|p12|pfx|jks|keystore|kdbx)|/id_(rsa|dsa|ecdsa|ed25519)|/\\.netrc|/\\.git-credentials"
          + "|/settings\\.xml|/\\.docker/config\\.json|/\\.kube/config)$");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** One image: what skopeo says about it, and two unpacked copies (one to inspect, one to run). */
  record Image(String name, Path archive, String ref, JsonNode inspect, JsonNode config, JsonNode oci,
      Path pristine, Path runRoot, JsonNode runtimeSpec) {

    List<String> entrypoint() {
      return strings(config.path("config").path("Entrypoint"));
    }

    List<String> env() {
      return strings(runtimeSpec.path("process").path("env"));
    }
  }

  /** A pod volume laid out on this machine, bind-mounted read-only at {@code path} (or a tmpfs). */
  record Mount(Path source, String path) {}

  static Path repo;
  static Path work;
  static Map<String, Path> tools = new HashMap<>();
  static Image sidecar;
  static Image operator;
  static final List<Process> processes = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void unpackBothImages() throws Exception {
    long t0 = System.nanoTime();
    long uid = new com.sun.security.auth.module.UnixSystem().getUid();
    if (uid != 0) {
      fail("ContainerImageIT runs each image's entrypoint inside its unpacked root filesystem with chroot"
          + " --userspec=10001:10001 in a private mount namespace (unshare --mount, mounting /proc, /dev and"
          + " /tmp), which needs root (CAP_SYS_ADMIN and CAP_SYS_CHROOT); this JVM runs as uid " + uid
          + ". Run the e2e module as root, as the CI does, or leave this class out: -Dit.test='!ContainerImageIT'");
    }
    for (String tool : List.of("skopeo", "umoci", "unshare", "chroot", "mount", "setpriv", "env", "find", "sh")) {
      tools.put(tool, which(tool));
    }
    repo = ControlPlane.findRepoRoot();
    work = ControlPlane.targetDir(repo).resolve("container-image");
    deleteTree(work);
    Files.createDirectories(work);

    JsonNode values = YAML.readTree(repo.resolve("helm/microapp-operator/values.yaml").toFile());
    JsonNode chart = YAML.readTree(repo.resolve("helm/microapp-operator/Chart.yaml").toFile());
    String operatorTag = values.path("image").path("tag").asText();
    String operatorRef = values.path("image").path("repository").asText() + ":"
        + (operatorTag.isEmpty() ? chart.path("appVersion").asText() : operatorTag);
    String sidecarRef = values.path("sidecar").path("image").path("repository").asText() + ":"
        + values.path("sidecar").path("image").path("tag").asText();
    operator = unpack("operator", repo.resolve("operator/target/microapp-operator-image.tar"), operatorRef);
    sidecar = unpack("sidecar", repo.resolve("sidecar/target/microapp-sidecar-image.tar"), sidecarRef);
    ControlPlane.log("ContainerImageIT: both images read and unpacked in "
        + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");
  }

  @AfterAll
  static void stopEverything() {
    for (Process p : List.copyOf(processes)) {
      stop(p);
    }
  }

  // ---- (a) the archives, as skopeo reads them -----------------------------------------------------

  @Test
  void eachArchiveIsALinuxAmd64ImageWithTheTagTheOperatorAndTheChartUse() throws Exception {
    for (Image img : List.of(operator, sidecar)) {
      String repository = img.ref().substring(0, img.ref().lastIndexOf(':'));
      String jar = "/opt/microapp/microapp-" + img.name() + "-all.jar";
      // `skopeo inspect docker-archive:FILE:REF` fails unless the archive holds exactly that tag
      assertThat(img.inspect().path("Name").asText()).as("%s: tag", img.name()).isEqualTo(repository);
      assertThat(img.inspect().path("Architecture").asText()).isEqualTo("amd64");
      assertThat(img.inspect().path("Os").asText()).isEqualTo("linux");
      JsonNode c = img.config().path("config");
      assertThat(c.path("User").asText()).as("%s: user (numeric, so runAsNonRoot can check it)", img.name())
          .isEqualTo(IMAGE_USER);
      assertThat(img.entrypoint()).as("%s: entrypoint", img.name())
          .containsExactly("/opt/java/bin/java", "-jar", jar);
      assertThat(strings(c.path("Cmd"))).containsExactly("--help");
      assertThat(strings(c.path("Env"))).contains("LANG=C.UTF-8", "JAVA_HOME=/opt/java");
      assertThat(strings(c.path("Env"))).noneMatch(e -> e.startsWith("JAVA_TOOL_OPTIONS="));
      // the OCI side of the same archive (`oci-archive:FILE:TAG` fails unless the index names the tag)
      assertThat(img.oci().path("Architecture").asText()).isEqualTo("amd64");
      assertThat(strings(img.oci().path("Layers"))).hasSize(2);
      // the runtime config umoci derives from the image: what a runtime would start
      JsonNode process = img.runtimeSpec().path("process");
      assertThat(process.path("user").path("uid").asInt()).isEqualTo(10001);
      assertThat(process.path("user").path("gid").asInt()).isEqualTo(10001);
      assertThat(strings(process.path("args"))).containsExactly("/opt/java/bin/java", "-jar", jar, "--help");
      ControlPlane.log("ContainerImageIT: " + img.ref() + " " + Files.size(img.archive()) / (1024 * 1024)
          + " MB archive, layers " + strings(img.oci().path("Layers")));
    }
    assertThat(operator.ref()).isEqualTo("ghcr.io/safedefaults/microapp-operator:0.1.0");
    // both images are built on the same base: a node pulls the runtime once
    assertThat(strings(sidecar.oci().path("Layers")).get(0)).as("shared base layer")
        .isEqualTo(strings(operator.oci().path("Layers")).get(0));
  }

  // ---- (b) the images run ------------------------------------------------------------------------

  @Test
  void theOperatorImagePrintsItsUsageAsItsOwnUserAndAsTheChartsUser() throws Exception {
    // the image's defaults (user 10001, Cmd --help), with the chart's JAVA_TOOL_OPTIONS
    JsonNode values = YAML.readTree(repo.resolve("helm/microapp-operator/values.yaml").toFile());
    String chartJavaOptions = values.path("operator").path("javaOptions").asText();
    assertThat(chartJavaOptions).isNotBlank();
    Run usage = runToEnd(operator, entrypointWith(operator, null), Map.of("JAVA_TOOL_OPTIONS", chartJavaOptions),
        List.of(), null, "usage");
    assertThat(usage.exit()).as(usage.stderr()).isZero();
    assertThat(usage.stdout()).startsWith("Usage: microapp-operator").contains("run", "render", "seal", "keys");
    assertThat(usage.stderr().strip()).as("only the JVM's note on stderr")
        .isEqualTo("Picked up JAVA_TOOL_OPTIONS: " + chartJavaOptions);

    // the chart runs the pod as its podSecurityContext's uid/gid, not the image's
    JsonNode psc = values.path("podSecurityContext");
    String chartUser = psc.path("runAsUser").asText() + ":" + psc.path("runAsGroup").asText();
    Run asChart = runToEnd(operator, entrypointWith(operator, List.of("--version")), Map.of(), List.of(), chartUser,
        "version-chart-user");
    assertThat(asChart.exit()).as(asChart.stderr()).isZero();
    assertThat(asChart.stdout()).isNotBlank();
  }

  @Test
  void theImagesJreIsNewEnoughTrustsDebiansCAsAndRunsInUtf8() throws Exception {
    for (Image img : List.of(operator, sidecar)) {
      String release = Files.readString(img.pristine().resolve("opt/java/release"));
      Matcher v = Pattern.compile("JAVA_VERSION=\"(17\\.[0-9.]+)\"").matcher(release);
      assertThat(v.find()).as("a Java 17 runtime: %s", release).isTrue();
      assertThat(Runtime.Version.parse(v.group(1)))
          .as("Java %s: the sidecar's TrimNativeHeapInterval needs 17.0.9 or newer", v.group(1))
          .isGreaterThanOrEqualTo(Runtime.Version.parse("17.0.9"));
      assertThat(release).contains("jdk.crypto.ec").contains("java.net.http");
      Path cacerts = img.pristine().resolve("opt/java/lib/security/cacerts");
      assertThat(Files.isSymbolicLink(cacerts)).as("cacerts is a real file, not a link out of the image").isFalse();
      KeyStore ks = KeyStore.getInstance("JKS");
      try (var in = Files.newInputStream(cacerts)) {
        ks.load(in, TRUSTSTORE_PASSWORD.toCharArray()); // checks the store's integrity digest too
      }
      assertThat(Collections.list(ks.aliases())).hasSizeGreaterThan(100).contains("debian:isrg_root_x1.pem");
    }
    // the image's own JRE reads its default truststore, and its locale is UTF-8
    Run keytool = runToEnd(sidecar, List.of("/opt/java/bin/keytool", "-list", "-cacerts", "-storepass",
        TRUSTSTORE_PASSWORD), Map.of(), List.of(), null, "keytool");
    assertThat(keytool.exit()).as(keytool.stderr()).isZero();
    assertThat(keytool.stdout()).contains("debian:isrg_root_x1.pem").containsPattern("contains 1\\d\\d entries");
    Run settings = runToEnd(sidecar, List.of("/opt/java/bin/java", "-XshowSettings:properties", "-version"),
        Map.of(), List.of(), null, "properties");
    assertThat(settings.exit()).as(settings.stderr()).isZero();
    assertThat(settings.stderr()).contains("sun.jnu.encoding = UTF-8").contains("user.name = nonroot")
        .contains("java.io.tmpdir = /tmp");
  }

  @Test
  void theOperatorImagesOutputRunsTheSidecarImageBetweenAnHttpsProviderAndAnApp() throws Exception {
    long t0 = System.nanoTime();
    Path pod = work.resolve("pod");
    Files.createDirectories(pod);
    // ---- the provider (HTTPS, self-signed) and the app --------------------------------------------
    OAuth2Config idpConfig = OAuth2Config.Companion.fromJson(
        "{\"interactiveLogin\": false, \"httpServer\": {\"type\": \"MockWebServerWrapper\", \"ssl\": {}}}");
    MockOAuth2Server idp = new MockOAuth2Server(idpConfig);
    idp.start(InetAddress.getLoopbackAddress(), 0);
    App app = new App();
    try {
      String issuer = idp.issuerUrl(ISSUER_ID).toString();
      Path testFiles = pod.resolve("etc-microapp-test");
      Files.createDirectories(testFiles);
      writeTruststore(idpConfig, testFiles.resolve("idp-truststore.p12"));
      Files.writeString(testFiles.resolve("app.yaml"), """
          apiVersion: safedefaults.io/v1alpha1
          kind: MicroApp
          metadata: {name: %s, namespace: %s}
          spec:
            image: ghcr.io/acme/imaged:1.0.0
            port: %d
            auth:
              issuer: %s
              allowedGroups: [%s]
            retention:
              ttl: 30d
              purge:
                http: {path: /internal/purge}
          """.formatted(APP, NS, app.port(), issuer, GROUP));
      readableTree(testFiles);
      Mount testMount = new Mount(testFiles, "/etc/microapp-test");

      // ---- 1. the operator image renders what it would create for the app ------------------------
      Run render = runToEnd(operator, entrypointWith(operator, List.of("render", "-f", "/etc/microapp-test/app.yaml")),
          Map.of(), List.of(testMount), null, "render");
      assertThat(render.exit()).as(render.stderr()).isZero();
      Map<String, Object> rendered = parseManifests(render.stdout());
      Deployment deployment = (Deployment) rendered.get("Deployment/" + APP);
      CronJob cronJob = (CronJob) rendered.get("CronJob/" + APP + "-purge");
      assertThat(deployment).as("rendered Deployment").isNotNull();
      assertThat(cronJob).as("rendered CronJob").isNotNull();
      PodSpec podSpec = deployment.getSpec().getTemplate().getSpec();
      Container proxy = podSpec.getContainers().stream().filter(c -> c.getName().equals("auth-proxy")).findFirst()
          .orElseThrow(() -> new AssertionError("no auth-proxy container in the rendered Deployment"));
      PodSpec purgeSpec = cronJob.getSpec().getJobTemplate().getSpec().getTemplate().getSpec();
      Container purge = purgeSpec.getContainers().get(0);
      for (Container c : List.of(proxy, purge)) {
        assertThat(c.getImage()).as("%s: the operator's default sidecar image is the archive's tag", c.getName())
            .isEqualTo(sidecar.ref());
        assertThat(c.getCommand()).as("%s: no command, so the image's entrypoint runs", c.getName()).isEmpty();
        assertThat(env(c)).containsEntry("JAVA_TOOL_OPTIONS", AppDeployment.SIDECAR_JVM_OPTIONS);
      }
      assertThat(proxy.getArgs()).containsExactly("proxy", "--config", "/etc/microapp-sidecar/config.json");
      assertThat(purge.getArgs()).containsExactly("purge", "--config", "/etc/microapp-purge/purge.json");

      // ---- 2. the pod's volumes, as the kubelet lays them out (secrets made here: render omits them)
      ObjectNode config = (ObjectNode) JSON.readTree(configMapData(rendered, APP + "-auth-proxy", "config.json"));
      assertThat(config.path("oidc").path("issuer").asText()).isEqualTo(issuer);
      String clientId = config.path("oidc").path("clientId").asText();
      List<String> portEdits = SidecarProcesses.moveTakenPorts(config);
      int port = config.get("listenPort").asInt();
      int adminPort = config.get("adminPort").asInt();
      String purgeToken = randomToken();
      Map<String, Map<String, String>> secrets = Map.of(
          APP + "-session-keys", Map.of("session-keyset.json", newKeyset()),
          APP + "-purge-token", Map.of("token", purgeToken));
      Map<String, Map<String, String>> configMaps = new HashMap<>();
      configMaps.put(APP + "-auth-proxy", Map.of("config.json", JSON.writeValueAsString(config)));
      ObjectNode purgeConfig = (ObjectNode) JSON.readTree(configMapData(rendered, APP + "-purge", "purge.json"));
      String purgeUrl = purgeConfig.path("http").path("url").asText();
      assertThat(purgeUrl).isEqualTo("http://" + APP + "." + NS + ".svc:80/internal/purge");
      // no cluster DNS here: the Service's address is the sidecar's port on loopback
      ((ObjectNode) purgeConfig.get("http")).set("url", TextNode.valueOf("http://127.0.0.1:" + port + "/internal/purge"));
      configMaps.put(APP + "-purge", Map.of("purge.json", JSON.writeValueAsString(purgeConfig)));
      List<Mount> proxyMounts = layOutVolumes(pod.resolve("proxy"), podSpec, proxy, configMaps, secrets);
      List<Mount> purgeMounts = layOutVolumes(pod.resolve("purge"), purgeSpec, purge, configMaps, secrets);
      String podUser = podUser(podSpec.getSecurityContext());

      // ---- 3. without the provider's certificate, the image's default truststore refuses its TLS ---
      Map<String, String> proxyEnv = env(proxy);
      Run untrusting = runToEnd(sidecar, entrypointWith(sidecar, proxy.getArgs()), proxyEnv, proxyMounts, podUser,
          "sidecar-untrusting");
      assertThat(untrusting.exit()).as(untrusting.stderr()).isEqualTo(2);
      assertThat(untrusting.stderr()).contains("OIDC discovery").contains("SSL");

      // ---- 4. with it (JDK_JAVA_OPTIONS, so JAVA_TOOL_OPTIONS stays the operator's exactly) --------
      Map<String, String> trusting = new LinkedHashMap<>(proxyEnv);
      trusting.put("JDK_JAVA_OPTIONS", "-Djavax.net.ssl.trustStore=/etc/microapp-test/idp-truststore.p12"
          + " -Djavax.net.ssl.trustStorePassword=" + TRUSTSTORE_PASSWORD + " -Djavax.net.ssl.trustStoreType=PKCS12");
      List<Mount> withTest = new ArrayList<>(proxyMounts);
      withTest.add(testMount);
      Path log = work.resolve("sidecar");
      Process p = start(sidecar, entrypointWith(sidecar, proxy.getArgs()), trusting, withTest, podUser, log);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      SidecarProcesses.awaitReady("the sidecar image", p, http, adminPort, Path.of(log + ".out"), Path.of(log + ".err"));
      HttpResponse<String> healthz = get(http, "http://127.0.0.1:" + adminPort + "/healthz");
      assertThat(healthz.statusCode()).as(healthz.body()).isEqualTo(200);
      String stderr = Files.readString(Path.of(log + ".err"));
      assertThat(stderr).contains("Picked up JAVA_TOOL_OPTIONS: " + AppDeployment.SIDECAR_JVM_OPTIONS);

      // the JVM in the pod: the pod's user and groups, no capabilities, no_new_privs, in the image's root
      ProcessHandle jvm = jvmOf(p);
      Map<String, String> status = procStatus(jvm.pid());
      assertThat(status.get("Uid")).isEqualTo("10001\t10001\t10001\t10001");
      assertThat(status.get("Gid")).isEqualTo("10001\t10001\t10001\t10001");
      assertThat(status.get("Groups")).isEqualTo("10001");
      assertThat(status.get("CapEff")).isEqualTo("0000000000000000");
      assertThat(status.get("NoNewPrivs")).isEqualTo("1");
      assertThat(Files.readSymbolicLink(Path.of("/proc/" + jvm.pid() + "/root"))).isEqualTo(sidecar.runRoot());

      // ---- 5. API clients: none -> 401; a token of the allowed group -> proxied to the app ------------
      String base = "http://127.0.0.1:" + port;
      HttpResponse<String> anonymous = get(http, base + "/api/orders", "Accept", "application/json");
      assertThat(anonymous.statusCode()).isEqualTo(401);
      String token = idp.issueToken(ISSUER_ID, ALICE, clientId, Map.of("groups", List.of(GROUP)), 3600).serialize();
      HttpResponse<String> api = get(http, base + "/api/orders?page=2", "Accept", "application/json",
          "Authorization", "Bearer " + token);
      assertThat(api.statusCode()).as(api.body()).isEqualTo(200);
      assertThat(api.body()).isEqualTo(app.marker);
      assertThat(api.headers().firstValue("Strict-Transport-Security")).isPresent();
      App.Received seen = app.next();
      assertThat(seen.uri()).isEqualTo("/api/orders?page=2");
      assertThat(seen.forwardedUser()).isEqualTo(ALICE);

      // ---- 6. the purge job: the sidecar image's `purge`, through the sidecar, to the app -------------
      Run purgeRun = runToEnd(sidecar, entrypointWith(sidecar, purge.getArgs()), env(purge), purgeMounts,
          podUser(purgeSpec.getSecurityContext()), "purge");
      assertThat(purgeRun.exit()).as(purgeRun.stdout() + purgeRun.stderr()).isZero();
      assertThat(purgeRun.stdout()).contains("\"event\":\"purge.completed\"").contains("\"deleted\":3");
      App.Received purged = app.next();
      assertThat(purged.method() + " " + purged.uri()).isEqualTo("POST /internal/purge");

      // ---- 7. memory: the operator's flags keep the JVM inside the container's 160Mi ------------------
      long hwmKb = Long.parseLong(procStatus(jvm.pid()).get("VmHWM").replace(" kB", "").strip());
      assertThat(hwmKb).as("sidecar peak RSS (kB)").isLessThan(160 * 1024);

      int exit = stop(p);
      assertThat(exit).as("SIGTERM stops the sidecar cleanly").isIn(0, 143);
      String stdout = Files.readString(Path.of(log + ".out"));
      assertThat(stdout).doesNotContain(token).doesNotContain(purgeToken);
      ControlPlane.log("ContainerImageIT: sidecar image served the operator's config"
          + (portEdits.isEmpty() ? "" : " (ports rewritten " + portEdits + ")") + ", peak RSS "
          + hwmKb / 1024 + " MB; took " + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");
    } finally {
      idp.shutdown();
      app.close();
    }
  }

  // ---- (c) what is in the images --------------------------------------------------------------------

  @Test
  void nothingInTheImagesIsWritableByTheirUserExceptTmpAndNothingLeaked() throws Exception {
    String home = System.getProperty("user.home");
    List<String> buildPaths = List.of(repo.toAbsolutePath().toString(), home + "/.m2", home + "/.cache",
        home + "/.kubeapitest", "/.m2/repository");
    for (Image img : List.of(operator, sidecar)) {
      Path root = img.pristine();
      List<String> problems = new ArrayList<>();
      int files = 0;
      try (Stream<Path> all = Files.walk(root)) {
        for (Path p : all.sorted().toList()) {
          String path = "/" + root.relativize(p);
          int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
          int owner = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
          int group = (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
          if (p.equals(root)) {
            continue;
          }
          if (owner != 0 || group != 0) {
            problems.add(path + " owned by " + owner + ":" + group);
          }
          if (Files.isSymbolicLink(p)) {
            Path target = Files.readSymbolicLink(p);
            Path inside = target.isAbsolute() ? root.resolve(target.toString().substring(1)) : p.resolveSibling(target);
            if (!inside.normalize().startsWith(root) || !Files.exists(inside)) {
              problems.add(path + " -> " + target + " does not resolve inside the image");
            }
            continue;
          }
          if ((mode & 06000) != 0) {
            problems.add(path + " is setuid/setgid (" + Integer.toOctalString(mode & 07777) + ")");
          }
          if (path.equals("/tmp")) {
            if ((mode & 07777) != 01777) {
              problems.add("/tmp has mode " + Integer.toOctalString(mode & 07777) + ", expected 1777");
            }
          } else if ((mode & 0022) != 0) {
            problems.add(path + " is group/world-writable (" + Integer.toOctalString(mode & 07777) + ")");
          }
          if (path.matches("/(root|home)(/.*)?") || path.matches(".*/\\.(m2|git|ssh|gnupg|cache|aws|config)(/.*)?")
              || KEY_FILE_NAME.matcher(path).matches()) {
            problems.add(path + ": a home directory, build or credential file");
          }
          if (Files.isRegularFile(p)) {
            files++;
            byte[] bytes = Files.readAllBytes(p);
            problems.addAll(leaks(path, bytes, buildPaths));
            if (path.endsWith(".jar")) {
              problems.addAll(jarLeaks(path, bytes, buildPaths));
            }
          }
        }
      }
      // the app layer adds exactly the shaded jar the build made, nothing else
      try (Stream<Path> app = Files.list(root.resolve("opt/microapp"))) {
        assertThat(app.map(a -> a.getFileName().toString()).toList()).containsExactly("microapp-" + img.name() + "-all.jar");
      }
      assertThat(sha256(root.resolve("opt/microapp/microapp-" + img.name() + "-all.jar")))
          .as("%s: the jar in the image is the build's (if not, the archive is stale: mvn -pl operator,sidecar"
              + " package without -Dimages.skip)", img.name())
          .isEqualTo(sha256(repo.resolve(img.name() + "/target/microapp-" + img.name() + "-all.jar")));
      try (Stream<Path> tmp = Files.list(root.resolve("tmp"))) {
        assertThat(tmp.toList()).as("%s: /tmp in the image is empty", img.name()).isEmpty();
      }
      assertThat(problems).as("%s: %d files checked", img.name(), files).isEmpty();

      // the kernel's answer: every path under the rootfs that uid/gid 10001 may write to
      Files.setPosixFilePermissions(root.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
      Process find = new ProcessBuilder(tools.get("setpriv").toString(), "--reuid=10001", "--regid=10001",
          "--clear-groups", tools.get("find").toString(), root.toString(), "-writable")
          .redirectErrorStream(true).start();
      String writable = new String(find.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(find.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(writable.lines().map(l -> l.startsWith(root.toString()) ? "/" + root.relativize(Path.of(l)) : l))
          .as("%s: paths writable by 10001", img.name()).containsExactly("/tmp");
    }
  }

  // ---- unpacking ---------------------------------------------------------------------------------------

  static Image unpack(String name, Path archive, String ref) throws Exception {
    assertThat(archive).as("the %s image archive; build it with: mvn -pl operator,sidecar package"
        + " (without -Dimages.skip)", name).isRegularFile();
    String tag = ref.substring(ref.lastIndexOf(':') + 1);
    String docker = "docker-archive:" + archive + ":" + ref;
    JsonNode inspect = JSON.readTree(tool(work.resolve(name + "-inspect"), "skopeo", "inspect", docker));
    JsonNode config = JSON.readTree(tool(work.resolve(name + "-config"), "skopeo", "inspect", "--config", docker));
    JsonNode oci = JSON.readTree(tool(work.resolve(name + "-oci"), "skopeo", "inspect", "oci-archive:" + archive + ":" + tag));
    Files.createDirectories(work.resolve(name));
    Path layout = work.resolve(name + "/layout");
    tool(work.resolve(name + "-copy"), "skopeo", "copy", "--quiet", docker, "oci:" + layout + ":" + tag);
    Path pristine = work.resolve(name + "/pristine");
    Path run = work.resolve(name + "/run");
    tool(work.resolve(name + "-unpack"), "umoci", "unpack", "--image", layout + ":" + tag, pristine.toString());
    tool(work.resolve(name + "-unpack-run"), "umoci", "unpack", "--image", layout + ":" + tag, run.toString());
    Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-xr-x"));
    JsonNode spec = JSON.readTree(run.resolve("config.json").toFile());
    return new Image(name, archive, ref, inspect, config, oci, pristine.resolve("rootfs"),
        run.resolve("rootfs").toRealPath(), spec);
  }

  // ---- running an image's entrypoint -----------------------------------------------------------------

  record Run(int exit, String stdout, String stderr) {}

  /** The image's entrypoint followed by {@code args} (a container's args), or by its Cmd when null. */
  static List<String> entrypointWith(Image img, List<String> args) {
    List<String> argv = new ArrayList<>(img.entrypoint());
    argv.addAll(args == null ? strings(img.config().path("config").path("Cmd")) : args);
    return argv;
  }

  /** Runs {@code argv} in the image to its end (at most 90 s). */
  static Run runToEnd(Image img, List<String> argv, Map<String, String> env, List<Mount> mounts, String user,
      String logName) throws Exception {
    Path log = work.resolve(img.name() + "-" + logName);
    Process p = start(img, argv, env, mounts, user, log);
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      stop(p);
      throw new AssertionError(img.name() + " " + logName + " did not finish within 90 s; stderr:\n"
          + Files.readString(Path.of(log + ".err")));
    }
    processes.remove(p);
    return new Run(p.exitValue(), Files.readString(Path.of(log + ".out")), Files.readString(Path.of(log + ".err")));
  }

  /**
   * The container: a private mount namespace with the image's root bind-mounted read-only, /proc,
   * /dev, a tmpfs at /tmp and the volumes read-only; then {@code env -i <image env + env>
   * setpriv --no-new-privs chroot --userspec=USER --groups=GID ROOT argv}.
   */
  static Process start(Image img, List<String> argv, Map<String, String> env, List<Mount> mounts, String user, Path log)
      throws IOException {
    Path root = img.runRoot();
    String userspec = user != null ? user : IMAGE_USER;
    String groups = userspec.substring(userspec.indexOf(':') + 1);
    List<String> cmd = new ArrayList<>(List.of(tools.get("unshare").toString(), "--mount", "--propagation", "private",
        "--fork", "--", tools.get("sh").toString(), "-ec", """
            root="$1"; shift
            "$MOUNT" --bind "$root" "$root"
            "$MOUNT" -o remount,bind,ro "$root"
            "$MOUNT" -t proc proc "$root/proc"
            "$MOUNT" --rbind /dev "$root/dev"
            "$MOUNT" -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"
            while [ "$1" != "--" ]; do
              "$MOUNT" --bind "$1" "$root$2"
              "$MOUNT" -o remount,bind,ro "$root$2"
              shift 2
            done
            shift
            exec "$ENV" -i "$@"
            """, "sh", root.toString()));
    List<Mount> ordered = new ArrayList<>(mounts);
    ordered.sort(Comparator.comparing(m -> m.path().length()));
    for (Mount m : ordered) {
      Files.createDirectories(root.resolve(m.path().substring(1))); // the mount point, as a runtime creates it
      cmd.add(m.source().toString());
      cmd.add(m.path());
    }
    cmd.add("--");
    Map<String, String> merged = new LinkedHashMap<>();
    for (String kv : img.env()) {
      merged.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    merged.putAll(env);
    merged.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.addAll(List.of(tools.get("setpriv").toString(), "--no-new-privs", tools.get("chroot").toString(),
        "--userspec=" + userspec, "--groups=" + groups, root.toString()));
    cmd.addAll(argv);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectOutput(Path.of(log + ".out").toFile())
        .redirectError(Path.of(log + ".err").toFile())
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    pb.environment().clear();
    pb.environment().put("MOUNT", tools.get("mount").toString());
    pb.environment().put("ENV", tools.get("env").toString());
    pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    ControlPlane.log("ContainerImageIT: " + img.name() + " as " + userspec + ": " + String.join(" ", argv));
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  /** SIGTERM to the container's process (as the kubelet does), then its exit code. */
  static int stop(Process p) {
    processes.remove(p);
    try {
      p.descendants().forEach(ProcessHandle::destroy);
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return p.isAlive() ? -1 : p.exitValue();
  }

  static ProcessHandle jvmOf(Process p) {
    return p.descendants().filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false)).findFirst()
        .orElseThrow(() -> new AssertionError("no java process under " + p.pid()));
  }

  static Map<String, String> procStatus(long pid) throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      int colon = line.indexOf(':');
      out.put(line.substring(0, colon), line.substring(colon + 1).strip());
    }
    return out;
  }

  // ---- the pod's volumes ----------------------------------------------------------------------------

  /**
   * For each of the container's volume mounts: a ConfigMap or Secret volume written under {@code dir}
   * with the volume's modes (Secrets group-owned by the pod's fsGroup, as the kubelet does), or
   * nothing for an emptyDir at /tmp (the runner's tmpfs).
   */
  static List<Mount> layOutVolumes(Path dir, PodSpec pod, Container c, Map<String, Map<String, String>> configMaps,
      Map<String, Map<String, String>> secrets) throws IOException {
    Map<String, Volume> volumes = new LinkedHashMap<>();
    pod.getVolumes().forEach(v -> volumes.put(v.getName(), v));
    Long fsGroup = pod.getSecurityContext().getFsGroup();
    List<Mount> mounts = new ArrayList<>();
    for (VolumeMount vm : c.getVolumeMounts()) {
      Volume v = volumes.get(vm.getName());
      assertThat(v).as("volume of mount %s", vm.getMountPath()).isNotNull();
      if (v.getEmptyDir() != null) {
        assertThat(vm.getMountPath()).as("emptyDir mounts this test lays out").isEqualTo("/tmp");
        continue;
      }
      Path vdir = dir.resolve(vm.getName());
      Files.createDirectories(vdir);
      Map<String, String> data;
      List<KeyToPath> items;
      int mode;
      if (v.getConfigMap() != null) {
        data = configMaps.get(v.getConfigMap().getName());
        items = v.getConfigMap().getItems();
        mode = v.getConfigMap().getDefaultMode();
      } else if (v.getSecret() != null) {
        data = secrets.get(v.getSecret().getSecretName());
        items = v.getSecret().getItems();
        mode = v.getSecret().getDefaultMode();
      } else {
        throw new AssertionError("a volume kind this test cannot lay out: " + v);
      }
      assertThat(data).as("data of volume %s", vm.getName()).isNotNull();
      Map<String, String> files = new LinkedHashMap<>();
      if (items == null || items.isEmpty()) {
        files.putAll(data);
      } else {
        items.forEach(i -> files.put(i.getPath(), data.get(i.getKey())));
      }
      for (var f : files.entrySet()) {
        Path file = vdir.resolve(f.getKey());
        Files.writeString(file, f.getValue());
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(rwx(mode)));
        if (v.getSecret() != null && fsGroup != null) {
          Files.setAttribute(file, "unix:gid", fsGroup.intValue());
        }
      }
      Files.setPosixFilePermissions(vdir, PosixFilePermissions.fromString("rwxr-xr-x"));
      mounts.add(new Mount(vdir, vm.getMountPath()));
    }
    // nested mount points (a Secret inside a ConfigMap's directory) exist in the outer volume
    for (Mount outer : mounts) {
      for (Mount inner : mounts) {
        if (inner.path().startsWith(outer.path() + "/")) {
          Files.createDirectories(outer.source().resolve(inner.path().substring(outer.path().length() + 1)));
        }
      }
    }
    readableTree(dir);
    return mounts;
  }

  static String podUser(PodSecurityContext sc) {
    assertThat(sc.getRunAsUser()).as("runAsUser").isNotNull();
    assertThat(sc.getRunAsGroup()).as("runAsGroup").isNotNull();
    return sc.getRunAsUser() + ":" + sc.getRunAsGroup();
  }

  static String rwx(int mode) {
    StringBuilder s = new StringBuilder();
    for (int shift = 6; shift >= 0; shift -= 3) {
      int bits = (mode >> shift) & 7;
      s.append((bits & 4) != 0 ? 'r' : '-').append((bits & 2) != 0 ? 'w' : '-').append((bits & 1) != 0 ? 'x' : '-');
    }
    return s.toString();
  }

  /** Directories on the way to the volumes must be traversable by the pod's user. */
  static void readableTree(Path dir) throws IOException {
    for (Path p = dir; p != null && p.startsWith(work); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.filter(Files::isDirectory).toList()) {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
    }
  }

  // ---- the operator's rendered manifests -------------------------------------------------------------

  static Map<String, Object> parseManifests(String yaml) {
    KubernetesSerialization serialization = new KubernetesSerialization();
    Map<String, Object> out = new LinkedHashMap<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.isBlank()) {
        continue;
      }
      Object o = serialization.unmarshal(doc);
      if (o instanceof io.fabric8.kubernetes.api.model.HasMetadata h) {
        out.put(h.getKind() + "/" + h.getMetadata().getName(), h);
      }
    }
    assertThat(out).as("rendered manifests").isNotEmpty();
    return out;
  }

  static String configMapData(Map<String, Object> rendered, String name, String key) {
    ConfigMap cm = (ConfigMap) rendered.get("ConfigMap/" + name);
    assertThat(cm).as("rendered ConfigMap %s", name).isNotNull();
    assertThat(cm.getData()).containsKey(key);
    return cm.getData().get(key);
  }

  static Map<String, String> env(Container c) {
    Map<String, String> out = new LinkedHashMap<>();
    for (EnvVar e : c.getEnv()) {
      assertThat(e.getValue()).as("env %s has a literal value", e.getName()).isNotNull();
      out.put(e.getName(), e.getValue());
    }
    return out;
  }

  // ---- the leak scan ---------------------------------------------------------------------------------

  static List<String> leaks(String path, byte[] bytes, List<String> buildPaths) {
    List<String> found = new ArrayList<>();
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    for (String b : buildPaths) {
      if (text.contains(b)) {
        found.add(path + " contains the build machine's path " + b);
      }
    }
    if (PRIVATE_KEY.matcher(text).find()) {
      found.add(path + " contains a private key");
    }
    return found;
  }

  static List<String> jarLeaks(String path, byte[] jar, List<String> buildPaths) throws IOException {
    List<String> found = new ArrayList<>();
    try (ZipInputStream zip = new ZipInputStream(new java.io.ByteArrayInputStream(jar))) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        String name = path + "!/" + e.getName();
        if (KEY_FILE_NAME.matcher("/" + e.getName()).matches()) {
          found.add(name + ": a key or credential file");
        }
        byte[] content = zip.readAllBytes();
        if (e.getName().endsWith(".class")) {
          // Libraries' compiled-in test material (Netty's OpenSsl probe key) is code, not a file of
          // this build: only build-machine paths count there.
          String text = new String(content, StandardCharsets.ISO_8859_1);
          buildPaths.stream().filter(text::contains).forEach(b -> found.add(name + " contains the build machine's path " + b));
        } else {
          found.addAll(leaks(name, content, buildPaths));
        }
      }
    }
    return found;
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  /** Runs a machine tool (skopeo, umoci) to its end; its stdout, or an AssertionError with its stderr. */
  static String tool(Path logBase, String tool, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(tools.get(tool).toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(Path.of(logBase + ".err").toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " did not finish within 120 s");
    }
    if (p.exitValue() != 0) {
      throw new AssertionError(String.join(" ", cmd) + " failed with " + p.exitValue() + ":\n"
          + Files.readString(Path.of(logBase + ".err")));
    }
    return out;
  }

  static String sha256(Path file) throws Exception {
    java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
    try (var in = Files.newInputStream(file)) {
      in.transferTo(new java.security.DigestOutputStream(java.io.OutputStream.nullOutputStream(), md));
    }
    return java.util.HexFormat.of().formatHex(md.digest());
  }

  static Path which(String tool) {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
    dirs.addAll(List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin"));
    for (String d : dirs) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
        return Path.of(d, tool);
      }
    }
    throw new AssertionError("'" + tool + "' not found; ContainerImageIT needs skopeo and umoci (run"
        + " e2e/install-test-deps.sh as root, or apt-get install skopeo umoci) and util-linux/coreutils"
        + " (unshare, mount, setpriv, chroot, env, find)");
  }

  static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  static HttpResponse<String> get(HttpClient http, String url, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static void writeTruststore(OAuth2Config config, Path file) throws Exception {
    KeyStore generated = config.getHttpServer().sslConfig().getSslKeystore().getKeyStore();
    Certificate cert = null;
    for (String alias : Collections.list(generated.aliases())) {
      cert = cert != null ? cert : generated.getCertificate(alias);
    }
    assertThat(cert).as("the provider's generated certificate").isNotNull();
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("mock-oauth2-server", cert);
    try (var out = Files.newOutputStream(file)) {
      trust.store(out, TRUSTSTORE_PASSWORD.toCharArray());
    }
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
  }

  static String newKeyset() throws Exception {
    AeadConfig.register();
    return TinkJsonProtoKeysetFormat.serializeKeyset(KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM),
        InsecureSecretKeyAccess.get());
  }

  static String randomToken() {
    byte[] raw = new byte[32];
    new SecureRandom().nextBytes(raw);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
  }



  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /**
   * The app behind the sidecar: answers its purge path the way the purge runner expects
   * ({@code {"deleted": 3}}), everything else with a marker; records what reached it.
   */
  static final class App implements AutoCloseable {
    record Received(String method, String uri, String forwardedUser) {}

    final String marker = "imaged-app-" + Long.toHexString(System.nanoTime());
    private final HttpServer server;
    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();

    App() throws IOException {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
      server.createContext("/", ex -> {
        try (ex) {
          ex.getRequestBody().readAllBytes();
          received.add(new Received(ex.getRequestMethod(), ex.getRequestURI().toString(),
              ex.getRequestHeaders().getFirst("X-Forwarded-User")));
          boolean purge = ex.getRequestURI().getPath().equals("/internal/purge");
          byte[] body = (purge ? "{\"deleted\": 3}" : marker).getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().add("Content-Type", purge ? "application/json" : "text/plain");
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
        }
      });
      server.start();
    }

    int port() {
      return server.getAddress().getPort();
    }

    Received next() throws InterruptedException {
      Received r = received.poll(10, TimeUnit.SECONDS);
      if (r == null) {
        throw new AssertionError("the app received no request within 10 s");
      }
      return r;
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
