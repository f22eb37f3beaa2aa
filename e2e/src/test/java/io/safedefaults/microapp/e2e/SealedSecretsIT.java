package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sealing the way a user does it: the CLI fetches the cluster's public key and seals a value
 * from stdin, the sealed value goes into the manifest, kubectl applies it, the operator opens it
 * into the app's Secret, and the running pod's app container gets it while its sidecar does not.
 * The plaintext appears nowhere in the operator's log.
 */
@Order(5)
class SealedSecretsIT extends E2ETestBase {
  static final String PLAINTEXT = "e2e-maps-key-91f3a0c2";
  static String ns;

  @BeforeAll
  static void namespace() {
    ns = newNamespace("sealed");
  }

  @Test
  void valueSealedWithTheCliOpensIntoTheAppsSecretAndIsNeverLogged() throws Exception {
    OperatorCli.Result sealed = cli(PLAINTEXT, "seal", "-n", ns, "--app", "where2eat", "--name", "MAPS_API_KEY",
        "--keys-namespace", InClusterOperator.NAMESPACE);
    assertThat(sealed.code()).as(sealed.err()).isZero();
    assertThat(sealed.out()).contains("# sealed for " + ns + "/where2eat/MAPS_API_KEY with key ")
        .doesNotContain(PLAINTEXT);
    String value = sealed.out().lines().filter(l -> l.startsWith("MAPS_API_KEY: ")).findFirst().orElseThrow()
        .replaceAll("^MAPS_API_KEY: \"([^\"]+)\".*$", "$1");

    String manifest = inNamespace(readExample("where2eat.yaml"), ns)
        + "  secrets:\n    sealed:\n      MAPS_API_KEY: \"" + value + "\"\n";
    applyYaml(manifest, ns).orFail();

    Secret secret = await().atMost(Duration.ofSeconds(60))
        .until(() -> client().secrets().inNamespace(ns).withName("where2eat-sealed").get(), s -> s != null);
    assertThat(new String(Base64.getDecoder().decode(secret.getData().get("MAPS_API_KEY")), StandardCharsets.UTF_8))
        .isEqualTo(PLAINTEXT);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(conditionStatus(microApp(ns, "where2eat"), "SecretsSealed")).isEqualTo("True"));
    assertThat(operator().log()).doesNotContain(PLAINTEXT).doesNotContain(value);

    // In the running pod: the app container has it, the sidecar (which holds the session keys and
    // the provider's secret, and faces the internet) has it nowhere: not in its environment, not in
    // any file of its filesystem and mounts.
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    Pod pod = runningPod(ns, "where2eat");
    assertThat(exec(pod, "app", "/where2eat", "getenv", "MAPS_API_KEY").strip()).isEqualTo(PLAINTEXT);
    ContainerProcess sidecar = ContainerProcess.of(e2e.controlPlane(), pod, "auth-proxy");
    assertThat(sidecar.environment()).as("the sidecar's environment").doesNotContainKey("MAPS_API_KEY")
        .allSatisfy((k, v) -> assertThat(v).doesNotContain(PLAINTEXT));
    assertThat(sidecar.mounts()).as("the sidecar's mounts").noneMatch(m -> m.contains("app-secrets"));
    try (var files = Files.walk(sidecar.path("/etc/microapp-sidecar"))) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        assertThat(Files.readString(f, StandardCharsets.ISO_8859_1)).as("%s in the sidecar", f).doesNotContain(PLAINTEXT);
      }
    }
  }

  @Test
  void privateKeysetBacksUpAndRestoresButNeverOverwrites(@TempDir Path dir) throws Exception {
    Path backup = dir.resolve("sealing-keys.json");
    OperatorCli.Result export = cli(null, "keys", "export", "--out", backup.toString(), "--keys-namespace", InClusterOperator.NAMESPACE);
    assertThat(export.code()).as(export.err()).isZero();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(backup))).isEqualTo("rw-------");

    OperatorCli.Result again = cli(null, "keys", "import", "--file", backup.toString(), "--keys-namespace", InClusterOperator.NAMESPACE);
    assertThat(again.code()).isEqualTo(2);
    assertThat(again.err()).contains("already exists; import never replaces keys");

    String restoreNs = newNamespace("restore");
    OperatorCli.Result restore = cli(null, "keys", "import", "--file", backup.toString(), "--keys-namespace", restoreNs);
    assertThat(restore.code()).as(restore.err()).isZero();
    Secret original = client().secrets().inNamespace(InClusterOperator.NAMESPACE).withName("microapp-sealing-keys").get();
    Secret restored = client().secrets().inNamespace(restoreNs).withName("microapp-sealing-keys").get();
    assertThat(restored.getData()).isEqualTo(original.getData());
  }

  @Test
  void publicKeyCanBeFetchedForOfflineSealing(@TempDir Path dir) throws Exception {
    Path pub = dir.resolve("public.json");
    OperatorCli.Result keys = cli(null, "keys", "--out", pub.toString(), "--keys-namespace", InClusterOperator.NAMESPACE);
    assertThat(keys.code()).as(keys.err()).isZero();
    assertThat(Files.readString(pub)).contains("HpkePublicKey").doesNotContain("HpkePrivateKey");
    // Offline: no cluster needed with --public-key (KUBECONFIG pointing nowhere proves it).
    OperatorCli.Result offline = cli(PLAINTEXT, List.of("KUBECONFIG=/nonexistent"), "seal", "-n", ns, "--namespace-wide",
        "--name", "SMTP_PASSWORD", "--public-key", pub.toString(), "--raw");
    assertThat(offline.code()).as(offline.err()).isZero();
    assertThat(offline.out().trim()).startsWith("v1:ns:");
  }

  static OperatorCli.Result cli(String stdin, String... args) {
    return cli(stdin, List.of(), args);
  }

  /** The operator jar's CLI as a separate process with the test cluster's kubeconfig. */
  static OperatorCli.Result cli(String stdin, List<String> env, String... args) {
    java.util.Map<String, String> vars = new java.util.HashMap<>();
    for (String kv : env) {
      vars.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    return OperatorCli.run(Env.operatorJar(repoRoot()), e2e.controlPlane().kubeconfig(), stdin, vars, args);
  }
}
