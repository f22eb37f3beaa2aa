package io.safedefaults.microapp.audit;

import static net.logstash.logback.argument.StructuredArguments.entries;

import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Structured audit events (checklist 9): one JSON line each, on the logger {@value #LOGGER}, so a
 * log pipeline can route them apart from diagnostics. Callers pass identifiers and settings only,
 * never secret values, tokens or e-mail addresses.
 */
public final class AuditLog {
  public static final String LOGGER = "audit";
  private static final Logger LOG = LoggerFactory.getLogger(LOGGER);

  public void record(String event, String namespace, String app, Map<String, ?> details) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("audit", true);
    fields.put("event", event);
    fields.put("namespace", namespace);
    fields.put("app", app);
    fields.putAll(details);
    LOG.info("audit {}", event, entries(fields));
  }
}
