package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Container;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The two container images the build writes ({@code sidecar/target/microapp-sidecar-image.tar},
 * {@code operator/target/microapp-operator-image.tar}, see e2e/README.md "Container images"), as a
 * registry would take them, without a container engine: skopeo reads each archive (as
 * docker-archive and as OCI archive) and reports the tag the operator and the chart use,
 * linux/amd64, user 10001 and the entrypoint; umoci unpacks it into a root filesystem plus the OCI
 * runtime config a runtime would start; the unpacked files are root-owned, nothing is writable by
 * 10001 except /tmp, nothing is setuid/setgid, no build-machine paths, home directories or private
 * keys are in them.
 *
 * <p>That they <em>run</em> is proven on the node: the operator's pod is this image under the chart's
 * user, every app pod's sidecar and every purge Job this sidecar image (the other ITs).
 * Needs root (umoci keeps the files' owners) and skopeo + umoci ({@code e2e/install-test-deps.sh}).
 */
@Order(8)
class ContainerImageIT {
  static final String TRUSTSTORE_PASSWORD = "changeit";
  static final String IMAGE_USER = "10001:10001";
  static final Pattern PRIVATE_KEY = Pattern.compile(
      "-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----\\s*[A-Za-z0-9+/=]{40}");
  static final Pattern KEY_FILE_NAME = Pattern.compile(
      "(?i).*(\\.(pem|key|p12|pfx|jks|keystore|kdbx)|/id_(rsa|dsa|ecdsa|ed25519)|/\\.netrc|/\\.git-credentials"
          + "|/settings\\.xml|/\\.docker/config\\.json|/\\.kube/config)$");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** One image: what skopeo says about it, its unpacked root filesystem and the runtime config umoci derives. */
  record Image(String name, Path archive, String ref, JsonNode inspect, JsonNode config, JsonNode oci,
      Path pristine, JsonNode runtimeSpec) {

    List<String> entrypoint() {
      return strings(config.path("config").path("Entrypoint"));
    }

  }

  static Path repo;
  static Path work;
  static Map<String, Path> tools = new HashMap<>();
  static Image sidecar;
  static Image operator;
  /** The chart's values.yaml. */
  static JsonNode values;

  @BeforeAll
  static void unpackBothImages() throws Exception {
    long t0 = System.nanoTime();
    long uid = new com.sun.security.auth.module.UnixSystem().getUid();
    if (uid != 0) {
      fail("ContainerImageIT unpacks the images with umoci keeping their files' owners and asks the kernel what"
          + " uid 10001 may write (setpriv), which needs root; this JVM runs as uid " + uid
          + ". Run the e2e module as root, as the CI does, or leave this class out: -Dit.test='!ContainerImageIT'");
    }
    for (String tool : List.of("skopeo", "umoci", "setpriv", "find")) {
      tools.put(tool, which(tool));
    }
    repo = ControlPlane.findRepoRoot();
    work = ControlPlane.targetDir(repo).resolve("container-image");
    deleteTree(work);
    Files.createDirectories(work);

    values = YAML.readTree(repo.resolve("helm/microapp-operator/values.yaml").toFile());
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

  // ---- (a) the archives, as skopeo reads them -----------------------------------------------------

  // Each check runs once per image, so one image's failure does not hide the other's.

  @ParameterizedTest(name = "{0} image")
  @ValueSource(strings = {"operator", "sidecar"})
  void eachArchiveIsALinuxAmd64ImageWithTheTagTheOperatorAndTheChartUse(String name) throws Exception {
    Image img = image(name);
    String repository = img.ref().substring(0, img.ref().lastIndexOf(':'));
    String jar = "/opt/microapp/microapp-" + img.name() + "-all.jar";
    // `skopeo inspect docker-archive:FILE:REF` fails unless the archive holds exactly that tag
    assertThat(img.inspect().path("Name").asText()).as("%s: tag", img.name()).isEqualTo(repository);
    assertThat(img.inspect().path("Architecture").asText()).as("%s: architecture", name).isEqualTo("amd64");
    assertThat(img.inspect().path("Os").asText()).as("%s: OS", name).isEqualTo("linux");
    JsonNode c = img.config().path("config");
    assertThat(c.path("User").asText()).as("%s: user (numeric, so runAsNonRoot can check it)", img.name())
        .isEqualTo(IMAGE_USER);
    assertThat(img.entrypoint()).as("%s: entrypoint", img.name())
        .containsExactly("/opt/java/bin/java", "-jar", jar);
    assertThat(strings(c.path("Cmd"))).as("%s: Cmd", name).containsExactly("--help");
    assertThat(strings(c.path("Env"))).as("%s: Env", name).contains("LANG=C.UTF-8", "JAVA_HOME=/opt/java");
    // the operator image carries the chart's JVM options as a default the chart's env replaces, so
    // that run outside the chart its heap is bounded too; the sidecar's come from the operator's spec
    List<String> jvm = strings(c.path("Env")).stream().filter(e -> e.startsWith("JAVA_TOOL_OPTIONS=")).toList();
    if (name.equals("operator")) {
      assertThat(jvm).as("%s: JAVA_TOOL_OPTIONS", name)
          .containsExactly("JAVA_TOOL_OPTIONS=" + values.path("operator").path("javaOptions").asText());
    } else {
      assertThat(jvm).as("%s: JAVA_TOOL_OPTIONS", name).isEmpty();
    }
    // the OCI side of the same archive (`oci-archive:FILE:TAG` fails unless the index names the tag)
    assertThat(img.oci().path("Architecture").asText()).as("%s: OCI architecture", name).isEqualTo("amd64");
    assertThat(strings(img.oci().path("Layers"))).as("%s: layers", name).hasSize(2);
    // the runtime config umoci derives from the image: what a runtime would start
    JsonNode process = img.runtimeSpec().path("process");
    assertThat(process.path("user").path("uid").asInt()).as("%s: runtime uid", name).isEqualTo(10001);
    assertThat(process.path("user").path("gid").asInt()).as("%s: runtime gid", name).isEqualTo(10001);
    assertThat(strings(process.path("args"))).as("%s: runtime args", name)
        .containsExactly("/opt/java/bin/java", "-jar", jar, "--help");
    ControlPlane.log("ContainerImageIT: " + img.ref() + " " + Files.size(img.archive()) / (1024 * 1024)
        + " MB archive, layers " + strings(img.oci().path("Layers")));
  }

  @Test
  void theOperatorImageHasTheChartsTagAndBothImagesShareTheirBaseLayer() {
    assertThat(operator.ref()).isEqualTo("ghcr.io/safedefaults/microapp-operator:0.1.0");
    // both images are built on the same base: a node pulls the runtime once
    assertThat(strings(sidecar.oci().path("Layers")).get(0)).as("shared base layer")
        .isEqualTo(strings(operator.oci().path("Layers")).get(0));
  }

  @ParameterizedTest(name = "{0} image")
  @ValueSource(strings = {"operator", "sidecar"})
  void theImagesJreIsNewEnoughAndTrustsDebiansCAs(String name) throws Exception {
    Image img = image(name);
    String release = Files.readString(img.pristine().resolve("opt/java/release"));
    Matcher v = Pattern.compile("JAVA_VERSION=\"(17\\.[0-9.]+)\"").matcher(release);
    assertThat(v.find()).as("%s: a Java 17 runtime: %s", name, release).isTrue();
    assertThat(Runtime.Version.parse(v.group(1)))
        .as("%s: Java %s: the sidecar's TrimNativeHeapInterval needs 17.0.9 or newer", name, v.group(1))
        .isGreaterThanOrEqualTo(Runtime.Version.parse("17.0.9"));
    assertThat(release).as("%s: modules", name).contains("jdk.crypto.ec").contains("java.net.http");
    Path cacerts = img.pristine().resolve("opt/java/lib/security/cacerts");
    assertThat(Files.isSymbolicLink(cacerts)).as("%s: cacerts is a real file, not a link out of the image", name)
        .isFalse();
    KeyStore ks = KeyStore.getInstance("JKS");
    try (var in = Files.newInputStream(cacerts)) {
      ks.load(in, TRUSTSTORE_PASSWORD.toCharArray()); // checks the store's integrity digest too
    }
    assertThat(Collections.list(ks.aliases())).as("%s: cacerts", name).hasSizeGreaterThan(100)
        .contains("debian:isrg_root_x1.pem");
  }

  // ---- (b) what is in the images --------------------------------------------------------------------

  @ParameterizedTest(name = "{0} image")
  @ValueSource(strings = {"operator", "sidecar"})
  void nothingInTheImagesIsWritableByTheirUserExceptTmpAndNothingLeaked(String name) throws Exception {
    String home = System.getProperty("user.home");
    List<String> buildPaths = List.of(repo.toAbsolutePath().toString(), home + "/.m2", home + "/.cache",
        home + "/.kubeapitest", "/.m2/repository");
    Image img = image(name);
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
    Optional<Processes.Finished> find = Processes.run(new ProcessBuilder(tools.get("setpriv").toString(),
        "--reuid=10001", "--regid=10001", "--clear-groups", tools.get("find").toString(), root.toString(), "-writable")
        .redirectErrorStream(true), null, Duration.ofSeconds(60));
    assertThat(find).as("setpriv ... find -writable finished within 60 s").isPresent();
    String writable = find.get().out();
    assertThat(writable.lines().map(l -> l.startsWith(root.toString()) ? "/" + root.relativize(Path.of(l)) : l))
        .as("%s: paths writable by 10001", img.name()).containsExactly("/tmp");
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
    tool(work.resolve(name + "-unpack"), "umoci", "unpack", "--image", layout + ":" + tag, pristine.toString());
    JsonNode spec = JSON.readTree(pristine.resolve("config.json").toFile());
    return new Image(name, archive, ref, inspect, config, oci, pristine.resolve("rootfs"), spec);
  }

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
    Processes.Finished p = Processes.run(new ProcessBuilder(cmd), null, Duration.ofSeconds(120))
        .orElseThrow(() -> new AssertionError(String.join(" ", cmd) + " did not finish within 120 s"));
    Files.writeString(Path.of(logBase + ".err"), p.err()); // kept beside the tool's other outputs
    if (p.code() != 0) {
      throw new AssertionError(String.join(" ", cmd) + " failed with " + p.code() + ":\n" + p.err());
    }
    return p.out();
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

  static Image image(String name) {
    return switch (name) {
      case "operator" -> operator;
      case "sidecar" -> sidecar;
      default -> throw new IllegalArgumentException("no image " + name);
    };
  }
}
