package io.safedefaults.microapp.imagescan;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.ImageScanSpec;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.ImageReference;
import io.safedefaults.microapp.policy.OperatorConfig.ImageScanRule;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.CheckResult.Item;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.ImageScan.State;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The vulnerability gate: the scanner's verdict on the app's image (judge), the checklist item it
 * makes (check) and, when the policy requires a passed scan, what it does to exposure (problem).
 * Pure functions of the plan and the reports, shared by the operator and the CLI.
 */
public final class ImageScanGate {
  private ImageScanGate() {}

  /**
   * @param reports the VulnerabilityReports in the app's namespace; empty when the cluster serves none
   */
  public static ImageScan judge(AppPlan plan, Optional<List<ScanReport>> reports) {
    return judge(plan, reports, null);
  }

  /**
   * @param running the image the app's Deployment runs now: once pinned (#pinned) it names the digest,
   *     and Trivy reports the pinned image by digest, without the spec's tag
   */
  public static ImageScan judge(AppPlan plan, Optional<List<ScanReport>> reports, String running) {
    ImageScanRule rule = plan.config().imageScan();
    String image = plan.image();
    if (!rule.required() || plan.relaxed().containsKey(Setting.IMAGE_SCAN)) {
      return ImageScan.of(State.NOT_REQUIRED, image);
    }
    if (reports.isEmpty()) {
      return ImageScan.of(State.NO_SCANNER, image);
    }
    Optional<ImageReference> ref = ImageReference.parse(image);
    String runningDigest = ref.flatMap(r -> ImageReference.parse(running)
        .filter(x -> x.registry().equals(r.registry()) && x.repository().equals(r.repository()))
        .map(ImageReference::digest)).orElse(null);
    Optional<ScanReport> latest = ref.flatMap(r -> reports.get().stream()
        .filter(s -> scans(s, r) || runningDigest != null && scans(s, r.withDigest(runningDigest)))
        .max(Comparator.comparing(ScanReport::updated)));
    if (latest.isEmpty()) {
      return ImageScan.of(State.PENDING, image);
    }
    ScanReport report = latest.get();
    List<ScanReport.Finding> failing = report.findings().stream()
        .filter(f -> f.severity() != null && f.severity().compareTo(rule.failAt()) <= 0)
        .filter(f -> rule.includeUnfixed() || f.fixed() != null)
        .sorted(Comparator.comparing(ScanReport.Finding::severity).thenComparing(ScanReport.Finding::id))
        .toList();
    List<String> examples = failing.stream().limit(5).map(f -> f.id() + " (" + lower(f.severity()) + ", "
        + f.resource() + " " + f.installed() + (f.fixed() != null ? " → " + f.fixed() : ", no fix yet") + ")").toList();
    return new ImageScan(failing.isEmpty() ? State.PASSED : State.FAILED, image, report.digest(), report.name(),
        failing.size(), examples);
  }

  /** Whether a report is of this image: same registry and repository, and the digest or else the tag. */
  static boolean scans(ScanReport s, ImageReference r) {
    String registry = s.registry().equals("docker.io") ? ImageReference.DOCKER_HUB : s.registry();
    return registry.equals(r.registry()) && s.repository().equals(r.repository())
        && (r.digest() != null ? r.digest().equals(s.digest()) : r.tag().equals(s.tag()));
  }

  public static CheckResult check(AppPlan plan, ImageScan scan) {
    CheckResult c = verdict(plan, scan);
    return c.outcome() == CheckResult.Outcome.FAILED && plan.config().imageScan().mode() == ImageScanSpec.Mode.AUDIT
        ? CheckResult.failed(c.item(), c.reason(), "audit mode (reported, not blocking): " + c.message()) : c;
  }

  private static CheckResult verdict(AppPlan plan, ImageScan scan) {
    ImageScanRule rule = plan.config().imageScan();
    String worse = "of " + lower(rule.failAt()) + (rule.failAt() == ImageScanSpec.Severity.CRITICAL ? "" : " or worse")
        + " severity" + (rule.includeUnfixed() ? "" : " with a fix available");
    return switch (scan.state()) {
      case NOT_REQUIRED -> plan.relaxed().containsKey(Setting.IMAGE_SCAN) && rule.required()
          ? CheckResult.relaxed(Item.IMAGE_SCANNED, "ScanOverridden", "no passed scan required, by override: "
              + plan.relaxed().get(Setting.IMAGE_SCAN))
          : CheckResult.relaxed(Item.IMAGE_SCANNED, "ScanNotRequired", "image scans are not required"
              + " by " + plan.config().source() + " (imageScan.mode audit or enforce turns them on)");
      case NO_SCANNER -> CheckResult.failed(Item.IMAGE_SCANNED, "NoScanner", "the policy requires a passed image"
          + " scan, but the cluster serves no VulnerabilityReports (" + ScanReport.API_VERSION + "): the platform"
          + " team installs Trivy Operator");
      case PENDING -> CheckResult.failed(Item.IMAGE_SCANNED, "ScanPending", "no VulnerabilityReport for "
          + scan.image() + " yet: Trivy Operator scans an image once the app's pods exist, usually within minutes");
      case PASSED -> CheckResult.passed(Item.IMAGE_SCANNED, "ScanPassed", scan.image()
          + (scan.digest() != null ? " (" + scan.digest() + ")" : "") + " has no vulnerability " + worse
          + " (VulnerabilityReport " + scan.report() + ")");
      case FAILED -> CheckResult.failed(Item.IMAGE_SCANNED, "VulnerableImage", scan.image() + " has "
          + scan.failing() + " vulnerabilit" + (scan.failing() == 1 ? "y " : "ies ") + worse + ": "
          + String.join(", ", scan.examples()) + (scan.failing() > scan.examples().size() ? ", …" : "")
          + " (VulnerabilityReport " + scan.report() + "); rebuild the image on patched packages and set spec.image"
          + " to the new tag or digest");
    };
  }

  /**
   * The plan with its image pinned to the digest the scan resolved, when a required scan has judged
   * one and the spec names a tag: the Deployment then runs exactly the scanned content. A new image
   * under the same tag runs only once the spec names it again (a new tag or the digest).
   */
  public static AppPlan pinned(AppPlan plan, ImageScan scan) {
    if (!plan.config().imageScan().required() || scan.digest() == null
        || (scan.state() != State.PASSED && scan.state() != State.FAILED)) {
      return plan;
    }
    return ImageReference.parse(plan.image()).filter(r -> r.digest() == null)
        .map(r -> plan.withImage(r.pinned(scan.digest()))).orElse(plan);
  }

  /** What a required scan that has not passed does: blocks exposure (enforce) or is reported (audit). */
  public static Optional<Problem> problem(AppPlan plan, ImageScan scan) {
    ImageScanRule rule = plan.config().imageScan();
    if (scan.state() == State.NOT_REQUIRED || scan.state() == State.PASSED) {
      return Optional.empty();
    }
    // the same words as the checklist item, so that Ready and ImageScanned make one Event, not two
    CheckResult c = check(plan, scan);
    return Optional.of(rule.mode() == ImageScanSpec.Mode.ENFORCE
        ? new Problem(Problem.Area.IMAGE_SCAN, c.reason(), c.message(), true)
        : Problem.audit(Problem.Area.IMAGE_SCAN, c.reason(), c.message()));
  }

  private static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
