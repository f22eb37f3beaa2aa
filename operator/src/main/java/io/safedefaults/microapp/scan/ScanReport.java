package io.safedefaults.microapp.scan;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.safedefaults.microapp.api.ImageScanSpec.Severity;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A Trivy Operator VulnerabilityReport (aquasecurity.github.io/v1alpha1), read strictly in this one
 * place: which image it scanned (registry, repository, tag, digest), when, and each finding's
 * severity and fixed version. A report missing any of those is not a report the gate can use.
 */
public record ScanReport(String namespace, String name, String registry, String repository, String tag,
    String digest, Instant updated, List<Finding> findings) {

  public static final String API_VERSION = "aquasecurity.github.io/v1alpha1";
  public static final String KIND = "VulnerabilityReport";

  /** @param severity null for Trivy's UNKNOWN, which no threshold counts */
  public record Finding(String id, Severity severity, String resource, String installed, String fixed) {}

  public static Optional<ScanReport> from(GenericKubernetesResource r) {
    Map<String, Object> report = map(r.getAdditionalProperties().get("report"));
    Map<String, Object> artifact = map(report.get("artifact"));
    Map<String, Object> registry = map(report.get("registry"));
    String repository = string(artifact.get("repository"));
    String server = string(registry.get("server"));
    Object list = report.get("vulnerabilities");
    Instant updated;
    try {
      updated = Instant.parse(string(report.get("updateTimestamp")));
    } catch (DateTimeParseException | NullPointerException e) {
      return Optional.empty();
    }
    if (repository == null || server == null || !(list instanceof List<?> items) || r.getMetadata() == null) {
      return Optional.empty();
    }
    List<Finding> findings = new ArrayList<>();
    for (Object o : items) {
      Map<String, Object> v = map(o);
      String id = string(v.get("vulnerabilityID"));
      String severity = string(v.get("severity"));
      if (id == null || severity == null) {
        return Optional.empty();
      }
      findings.add(new Finding(id, severity(severity), string(v.get("resource")), string(v.get("installedVersion")),
          string(v.get("fixedVersion"))));
    }
    String digest = string(artifact.get("digest"));
    return Optional.of(new ScanReport(r.getMetadata().getNamespace(), r.getMetadata().getName(),
        server.toLowerCase(Locale.ROOT), repository, string(artifact.get("tag")),
        digest != null && digest.matches("^sha256:[0-9a-f]{64}$") ? digest : null, updated, List.copyOf(findings)));
  }

  private static Severity severity(String s) {
    return switch (s) {
      case "CRITICAL" -> Severity.CRITICAL;
      case "HIGH" -> Severity.HIGH;
      case "MEDIUM" -> Severity.MEDIUM;
      case "LOW" -> Severity.LOW;
      default -> null;
    };
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  private static String string(Object o) {
    return o instanceof String s && !s.isBlank() ? s : null;
  }
}
