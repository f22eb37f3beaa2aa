package io.safedefaults.microapp.e2e;

import java.nio.file.Path;

/** The environment variables and system properties the e2e run honours (see e2e/README.md). */
final class Env {
  private Env() {}

  /** {@code E2E_USE_EXISTING_CLUSTER=true}: use KUBECONFIG as is, start no control plane. */
  static boolean useExistingCluster() {
    return flag("E2E_USE_EXISTING_CLUSTER");
  }

  /**
   * {@code E2E_STACK=NAME}: run against the platform {@code e2e/stack.sh up NAME} already started
   * (and leave it running), instead of starting and stopping one. For writing tests: the node's
   * start is paid once.
   */
  static String stack() {
    String v = System.getenv("E2E_STACK");
    return v == null || v.isBlank() ? null : v.strip();
  }

  /** {@code E2E_KEEP_CLUSTER=true}: leave the dedicated control plane running after the tests (debugging). */
  static boolean keepCluster() {
    return flag("E2E_KEEP_CLUSTER");
  }

  /**
   * {@code E2E_MEASURE_WRITES}: the API-write counters are cluster-wide, so on a shared cluster other
   * clients' writes would be counted. Default: measure on a platform of this run only.
   */
  static boolean measureWrites() {
    String v = System.getenv("E2E_MEASURE_WRITES");
    return v == null || v.isBlank() ? !useExistingCluster() && stack() == null : Boolean.parseBoolean(v.strip());
  }

  /** Where the control-plane binaries live: $KUBE_API_TEST_DIR, else -Dkube.api.test.dir, else ~/.kubeapitest. */
  static String kubeApiTestDir() {
    String env = System.getenv("KUBE_API_TEST_DIR");
    if (env != null && !env.isBlank()) {
      return env;
    }
    String prop = System.getProperty("kube.api.test.dir");
    if (prop != null && !prop.isBlank()) {
      return prop;
    }
    return Path.of(System.getProperty("user.home"), ".kubeapitest").toString();
  }

  /** The operator jar (for its CLI): -De2e.operatorJar / E2E_OPERATOR_JAR, else operator/target/microapp-operator-all.jar. */
  static Path operatorJar(Path repoRoot) {
    String env = System.getenv("E2E_OPERATOR_JAR");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    String prop = System.getProperty("e2e.operatorJar");
    if (prop != null && !prop.isBlank()) {
      return Path.of(prop).toAbsolutePath().normalize();
    }
    return repoRoot.resolve("operator/target/microapp-operator-all.jar");
  }

  private static boolean flag(String name) {
    String v = System.getenv(name);
    return v != null && Boolean.parseBoolean(v.strip());
  }
}
