package io.safedefaults.microapp.status;

import java.util.List;

/**
 * What the platform's scanner says about the app's image, judged against the policy's gate.
 *
 * @param image the image as the app names it (for messages)
 * @param digest the scanned content, sha256:..., when a report was found
 * @param report the namespace-local name of the report the verdict comes from
 * @param failing how many vulnerabilities fail the gate
 * @param examples up to five of them: "CVE-2024-1234 (critical, openssl 3.0.1 → 3.0.2)"
 */
public record ImageScan(State state, String image, String digest, String report, int failing,
    List<String> examples) {

  public enum State {
    /** The policy does not require a scan. */
    NOT_REQUIRED,
    /** Required, but the cluster serves no VulnerabilityReports (no scanner installed). */
    NO_SCANNER,
    /** Required; no report for this image yet. */
    PENDING,
    PASSED,
    FAILED
  }

  public static ImageScan of(State state, String image) {
    return new ImageScan(state, image, null, null, 0, List.of());
  }
}
