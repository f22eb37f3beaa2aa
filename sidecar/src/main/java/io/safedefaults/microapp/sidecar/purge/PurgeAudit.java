package io.safedefaults.microapp.sidecar.purge;

import static net.logstash.logback.argument.StructuredArguments.kv;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a purge run reports (checklist 9): exactly one JSON audit event on the "audit" logger (stdout,
 * through the sidecar's Logback + logstash encoder) and the same fields as one JSON line in the
 * container's termination message, where the operator and {@code kubectl describe pod} read it.
 */
public final class PurgeAudit {
  public static final Path DEFAULT_TERMINATION_LOG = Path.of("/dev/termination-log");
  private static final Logger AUDIT = LoggerFactory.getLogger("audit");
  private static final ObjectMapper JSON = new ObjectMapper();

  private PurgeAudit() {}

  public static void log(PurgeOutcome o) {
    List<Object> args = new ArrayList<>();
    args.add(kv("audit", true));
    for (Map.Entry<String, Object> f : o.fields().entrySet()) {
      args.add(kv(f.getKey(), f.getValue()));
    }
    if (o.succeeded()) {
      AUDIT.info("purge completed", args.toArray());
    } else {
      AUDIT.error("purge failed", args.toArray());
    }
  }

  public static String summary(PurgeOutcome o) {
    try {
      return JSON.writeValueAsString(o.fields());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Writes the summary as the termination message. The default path is only ever opened, never
   * created: Kubernetes provides it in a container, and a run elsewhere (as root, say) must not
   * leave a file in /dev. A path that cannot be written is skipped silently: the audit line on
   * stdout is the record of the run.
   */
  public static void terminationMessage(PurgeOutcome o, Path file, boolean create) {
    OpenOption[] options = create
        ? new OpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING}
        : new OpenOption[] {StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING};
    try {
      Files.write(file, (summary(o) + "\n").getBytes(StandardCharsets.UTF_8), options);
    } catch (IOException | SecurityException | UnsupportedOperationException skipped) {
      // not in a container, or not writable: nothing to do
    }
  }
}
