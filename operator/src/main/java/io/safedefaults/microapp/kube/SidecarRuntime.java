package io.safedefaults.microapp.kube;

import io.fabric8.kubernetes.api.model.EnvVar;
import java.util.List;

/**
 * How the sidecar image runs wherever the operator runs it: as the auth sidecar in the app's pod
 * (workload.AppDeployment) and as the purge runner (retention.PurgeJob). Both get the same JVM
 * settings, and the purge token is one file that three containers read at their own mount paths.
 */
public final class SidecarRuntime {
  /**
   * Measured with sidecar/bench/run-benchmark.sh (README there; a test keeps the script on these
   * flags): C2 only with one compiler thread keeps p99 added latency near 1 ms at 5-7x
   * oauth2-proxy's throughput. The inlining limits bound C2's per-compilation arena (20-28 MB for
   * Netty's pipeline methods at the defaults, which was the whole gap to 128 MB) at no measured
   * throughput cost; the native-heap trim hands freed compiler memory back. Peak RSS ~120 MB,
   * inside the 160Mi limit. TrimNativeHeapInterval needs a JRE of 17.0.9 / 21.0.1 or newer.
   */
  public static final String JVM_OPTIONS = "-Xmx40m -Xss256k -XX:MaxMetaspaceSize=56m -XX:ReservedCodeCacheSize=12m -XX:MaxDirectMemorySize=16m -XX:+UseSerialGC -XX:-TieredCompilation -XX:CICompilerCount=1 -XX:MaxInlineLevel=6 -XX:FreqInlineSize=100 -XX:InlineSmallCode=1000 -XX:TrimNativeHeapInterval=2000 -Dio.netty.allocator.numDirectArenas=1 -Dio.netty.allocator.numHeapArenas=1 -Dio.netty.allocator.maxOrder=7";

  /** Key of the purge token in its Secret, hence the token's file name wherever that Secret is mounted. */
  public static final String PURGE_TOKEN_KEY = "token";
  /** Where the sidecar finds the purge token (its configuration's purge.tokenFile). */
  public static final String SIDECAR_PURGE_TOKEN_DIR = "/etc/microapp-sidecar/purge";
  /** Where the app container finds the purge token, to check each purge call's signature. */
  public static final String APP_PURGE_TOKEN_DIR = "/var/run/secrets/microapp/purge";
  /** Where the purge runner finds the purge token (its configuration's http.tokenFile). */
  public static final String JOB_PURGE_TOKEN_DIR = "/etc/microapp-purge/token";

  private SidecarRuntime() {}

  /** The environment of every container running the sidecar image: keeps its JVM inside its memory limit. */
  public static List<EnvVar> env() {
    return List.of(new EnvVar("JAVA_TOOL_OPTIONS", JVM_OPTIONS, null), new EnvVar("MALLOC_ARENA_MAX", "2", null));
  }
}
