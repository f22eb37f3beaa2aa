package io.safedefaults.microapp.scan;

import java.util.List;
import java.util.Optional;

/** Where the operator reads scan reports from (runtime/ScanReports in the cluster). */
@FunctionalInterface
public interface ScanSource {
  /** No scanner: the cluster serves no VulnerabilityReports. */
  ScanSource NONE = namespace -> Optional.empty();

  /** The reports in a namespace; empty when the cluster serves no VulnerabilityReports at all. */
  Optional<List<ScanReport>> reports(String namespace);
}
