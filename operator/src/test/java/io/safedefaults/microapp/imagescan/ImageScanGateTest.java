package io.safedefaults.microapp.imagescan;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.ImageScanSpec.Mode;
import io.safedefaults.microapp.api.ImageScanSpec.Severity;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.ImageReference;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.ImageScan.State;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The vulnerability gate's verdicts over generated reports and rules, and how images are named. */
class ImageScanGateTest {
  static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "nginx                                   | index.docker.io | library/nginx        | latest | ",
      "nginx:1.27                              | index.docker.io | library/nginx        | 1.27   | ",
      "docker.io/library/nginx:1.27            | index.docker.io | library/nginx        | 1.27   | ",
      "docker.io/bitnami/redis:7               | index.docker.io | bitnami/redis        | 7      | ",
      "acme/app:2                              | index.docker.io | acme/app             | 2      | ",
      "ghcr.io/acme/where2eat:1.4.2            | ghcr.io         | acme/where2eat       | 1.4.2  | ",
      "registry.local:5000/team/app/web:v1     | registry.local:5000 | team/app/web     | v1     | ",
      "localhost/app:dev                       | localhost       | app                  | dev    | ",
      "ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef | ghcr.io | acme/app | | sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  })
  void imagesAreNamedAsTrivyNamesThem(String image, String registry, String repository, String tag, String digest) {
    ImageReference r = ImageReference.parse(image).orElseThrow();
    assertThat(r.registry()).isEqualTo(registry);
    assertThat(r.repository()).isEqualTo(repository);
    assertThat(r.tag()).isEqualTo(tag);
    assertThat(r.digest()).isEqualTo(digest);
  }

  @Test
  void referencesTheCrdRefusesAreNotParsed() {
    for (String bad : List.of("", " ", "Nginx", "ghcr.io/acme/app:", "ghcr.io//app", "app:tag with space",
        "ghcr.io/acme/app@sha256:xyz", "ghcr.io/acme/app\n")) {
      assertThat(ImageReference.parse(bad)).as("'%s'", bad).isEmpty();
    }
  }

  /**
   * Over generated reports and rules: the gate fails exactly when a finding at or above the rule's
   * severity (with a fix, unless unfixed ones count) exists, names at most five, and counts them all.
   */
  @Test
  void theVerdictCountsExactlyTheFindingsTheRuleNames() {
    Random random = new Random(20261207);
    for (int run = 0; run < 2000; run++) {
      Severity failAt = Severity.values()[random.nextInt(4)];
      boolean unfixed = random.nextBoolean();
      List<ScanReport.Finding> findings = new ArrayList<>();
      int expected = 0;
      for (int i = random.nextInt(12); i > 0; i--) {
        int s = random.nextInt(5);
        Severity severity = s == 4 ? null : Severity.values()[s];
        String fixed = random.nextInt(3) == 0 ? null : "1.0." + i;
        findings.add(new ScanReport.Finding("CVE-2026-" + run + "-" + i, severity, "pkg" + i, "0.9", fixed));
        if (severity != null && severity.compareTo(failAt) <= 0 && (unfixed || fixed != null)) {
          expected++;
        }
      }
      AppPlan plan = plan(Mode.ENFORCE, failAt, unfixed);
      ImageScan scan = ImageScanGate.judge(plan, Optional.of(List.of(report("ghcr.io", "acme/where2eat", "1.4.2",
          T0, findings))));
      assertThat(scan.failing()).as("run %d", run).isEqualTo(expected);
      assertThat(scan.state()).isEqualTo(expected == 0 ? State.PASSED : State.FAILED);
      assertThat(scan.examples()).hasSize(Math.min(5, expected));
      assertThat(ImageScanGate.problem(plan, scan).isPresent()).isEqualTo(expected > 0);
      ImageScanGate.problem(plan, scan).ifPresent(p -> assertThat(p.blocksExposure()).isTrue());
    }
  }

  @Test
  void onlyAReportOfTheSameImageCountsAndTheNewestWins() {
    AppPlan plan = plan(Mode.ENFORCE, Severity.CRITICAL, false);
    ScanReport.Finding critical = new ScanReport.Finding("CVE-1", Severity.CRITICAL, "openssl", "3.0", "3.1");
    List<ScanReport> others = List.of(report("ghcr.io", "acme/where2eat", "1.4.1", T0, List.of()),
        report("docker.io", "acme/where2eat", "1.4.2", T0, List.of()),
        report("ghcr.io", "acme/where2eat-admin", "1.4.2", T0, List.of()),
        report("ghcr.io", "acme", "1.4.2", T0, List.of()));
    assertThat(ImageScanGate.judge(plan, Optional.of(others)).state()).isEqualTo(State.PENDING);

    List<ScanReport> both = new ArrayList<>(others);
    both.add(report("ghcr.io", "acme/where2eat", "1.4.2", T0, List.of(critical)));
    both.add(report("ghcr.io", "acme/where2eat", "1.4.2", T0.plusSeconds(60), List.of()));
    assertThat(ImageScanGate.judge(plan, Optional.of(both)).state()).as("the newer scan").isEqualTo(State.PASSED);
    both.add(report("ghcr.io", "acme/where2eat", "1.4.2", T0.plusSeconds(120), List.of(critical)));
    assertThat(ImageScanGate.judge(plan, Optional.of(both)).state()).isEqualTo(State.FAILED);
  }

  @Test
  void eachStateIsAChecklistOutcomeAndAuditModeNeverBlocks() {
    for (Mode mode : Mode.values()) {
      AppPlan plan = plan(mode, Severity.CRITICAL, false);
      for (Optional<List<ScanReport>> reports : List.<Optional<List<ScanReport>>>of(Optional.empty(),
          Optional.of(List.of()))) {
        ImageScan scan = ImageScanGate.judge(plan, reports);
        CheckResult c = ImageScanGate.check(plan, scan);
        Optional<Problem> p = ImageScanGate.problem(plan, scan);
        switch (mode) {
          case OFF -> {
            assertThat(c.outcome()).isEqualTo(CheckResult.Outcome.RELAXED);
            assertThat(p).isEmpty();
          }
          case AUDIT -> {
            assertThat(c.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
            assertThat(p).get().satisfies(x -> assertThat(x.blocksExposure()).isFalse())
                .satisfies(x -> assertThat(x.audited()).isTrue());
          }
          case ENFORCE -> {
            assertThat(c.outcome()).isEqualTo(CheckResult.Outcome.FAILED);
            assertThat(p).get().satisfies(x -> assertThat(x.blocksExposure()).isTrue());
          }
        }
        assertThat(c.reason()).isEqualTo(switch (mode) {
          case OFF -> "ScanNotRequired";
          default -> reports.isEmpty() ? "NoScanner" : "ScanPending";
        });
      }
    }
  }

  @Test
  void aJudgedImageRunsByDigestAndIsStillJudgedOnceTrivyReportsItByDigestOnly() {
    String digest = "sha256:" + "ab".repeat(32);
    ScanReport byTag = report("ghcr.io", "acme/where2eat", "1.4.2", T0, List.of());
    for (Mode mode : Mode.values()) {
      AppPlan plan = plan(mode, Severity.CRITICAL, false);
      ImageScan scan = ImageScanGate.judge(plan, Optional.of(List.of(byTag)));
      AppPlan pinned = ImageScanGate.pinned(plan, scan);
      assertThat(pinned.image()).as(mode.toString())
          .isEqualTo(mode == Mode.OFF ? "ghcr.io/acme/where2eat:1.4.2" : "ghcr.io/acme/where2eat@" + digest);
    }
    AppPlan plan = plan(Mode.ENFORCE, Severity.CRITICAL, false);
    ScanReport byDigestOnly = new ScanReport("team-a", "rs-new", "ghcr.io", "acme/where2eat", null, digest,
        T0.plusSeconds(60), List.of());
    assertThat(ImageScanGate.judge(plan, Optional.of(List.of(byDigestOnly))).state())
        .as("a digest-only report is not of the tag the spec names").isEqualTo(State.PENDING);
    assertThat(ImageScanGate.judge(plan, Optional.of(List.of(byDigestOnly)), "ghcr.io/acme/where2eat@" + digest)
        .state()).as("but it is of the image the Deployment runs").isEqualTo(State.PASSED);
    assertThat(ImageScanGate.judge(plan, Optional.of(List.of(byDigestOnly)), "ghcr.io/acme/other@" + digest)
        .state()).as("another repository's digest does not count").isEqualTo(State.PENDING);
    assertThat(ImageScanGate.pinned(plan, ImageScan.of(State.PENDING, plan.image())).image())
        .as("nothing to pin before a report resolves the tag").isEqualTo(plan.image());
  }

  @Test
  void aJustifiedOverrideTheClusterAllowsExposesWithoutAScanAndSaysSo() {
    MicroApp app = TestApps.where2eat("team-a");
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.IMAGE_SCAN, "vendor image, scanned upstream by contract"));
    ScanReport.Finding critical = new ScanReport.Finding("CVE-1", Severity.CRITICAL, "openssl", "3.0", "3.1");
    for (boolean allowed : List.of(true, false)) {
      OperatorConfig config = OperatorConfig.builder().clusterIssuer("letsencrypt")
          .allowedOverrides(allowed ? java.util.Set.of(Setting.IMAGE_SCAN) : java.util.Set.of())
          .imageScan(new OperatorConfig.ImageScanRule(Mode.ENFORCE, Severity.CRITICAL, false)).build();
      AppPlan plan = AppPlan.resolve(app, config, T0);
      ImageScan scan = ImageScanGate.judge(plan, Optional.of(List.of(report("ghcr.io", "acme/where2eat", "1.4.2",
          T0, List.of(critical)))));
      CheckResult c = ImageScanGate.check(plan, scan);
      if (allowed) {
        assertThat(c.outcome()).isEqualTo(CheckResult.Outcome.RELAXED);
        assertThat(c.reason()).isEqualTo("ScanOverridden");
        assertThat(c.message()).contains("vendor image, scanned upstream by contract");
        assertThat(ImageScanGate.problem(plan, scan)).isEmpty();
        assertThat(plan.exposed()).isTrue();
      } else {
        assertThat(plan.problems()).anySatisfy(p -> assertThat(p.reason()).isEqualTo("OverrideNotAllowed"));
        assertThat(c.reason()).isEqualTo("VulnerableImage");
      }
    }
  }

  static AppPlan plan(Mode mode, Severity failAt, boolean unfixed) {
    MicroApp app = TestApps.where2eat("team-a");
    return AppPlan.resolve(app, OperatorConfig.builder().clusterIssuer("letsencrypt")
        .imageScan(new OperatorConfig.ImageScanRule(mode, failAt, unfixed)).build(), T0);
  }

  static ScanReport report(String server, String repository, String tag, Instant at, List<ScanReport.Finding> f) {
    return new ScanReport("team-a", "r-" + repository.hashCode() + "-" + at.getEpochSecond(), server, repository, tag,
        "sha256:" + "ab".repeat(32), at, f);
  }
}
