package io.safedefaults.microapp.sidecar.purge;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one purge run did: the audit event and the termination message are both made from this.
 * Fields that are unknown (a configuration that could not be read) are null.
 *
 * @param exitCode 0 purged, 1 the purge failed, 2 the configuration cannot be used
 * @param deleted rows or files deleted (also after a partial failure), null when the target did not say
 * @param error one sentence for a person, null on success; never a secret, host or file content
 */
public record PurgeOutcome(int exitCode, String target, String namespace, String app, String cutoff, Long deleted,
    long durationMs, String error) {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int BAD_CONFIG = 2;
  /** Kubernetes keeps at most 4096 bytes of a termination message. */
  private static final int MAX_ERROR = 1000;

  public boolean succeeded() {
    return exitCode == OK;
  }

  public String event() {
    return succeeded() ? "purge.completed" : "purge.failed";
  }

  /** The fields in a fixed order, shared by the audit line and the termination message. */
  public Map<String, Object> fields() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("event", event());
    m.put("target", target);
    m.put("namespace", namespace);
    m.put("app", app);
    m.put("cutoff", cutoff);
    m.put("deleted", deleted);
    m.put("durationMs", durationMs);
    m.put("exitCode", exitCode);
    if (error != null) {
      m.put("error", error.length() > MAX_ERROR ? error.substring(0, MAX_ERROR) + "…" : error);
    }
    return m;
  }
}
