package io.safedefaults.microapp.reports;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.CheckResult.Item;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The checklist as an OpenReports Report: a pure function of the app, its checks and its plan. */
class ChecklistReportTest {
  static final OperatorConfig POLICY = OperatorConfig.builder().clusterIssuer("le")
      .defaultIssuer("https://login.example.com").build();
  static final Instant T0 = Instant.parse("2026-11-29T10:00:00Z");
  static final Instant T1 = Instant.parse("2026-11-29T11:30:00Z");
  static final String PUBLIC_WHY = "public landing page, no personal data";
  static final String NO_DATA_WHY = "the app keeps no data at all, nothing to purge";
  static final Pattern DNS_LABEL = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

  /** where2eat made public and purge-free by justified overrides, with a session TTL above the maximum. */
  static MicroApp relaxedApp() {
    MicroApp app = TestApps.where2eat("team-food");
    app.getMetadata().setUid("0b0e6c1e-5d2a-4a53-9c1e-2f8d7d1f0a11");
    app.getSpec().setVisibility(Visibility.PUBLIC);
    app.getSpec().getAuth().setSessionTTL("20h");
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.VISIBILITY, PUBLIC_WHY));
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.RETENTION, NO_DATA_WHY));
    return app;
  }

  /** One check per item: each outcome at least once. */
  static List<CheckResult> checks() {
    return List.of(
        CheckResult.relaxed(Item.SIGN_IN_REQUIRED, "PublicByOverride", "anyone may use the app: " + PUBLIC_WHY),
        CheckResult.passed(Item.MFA_FOR_ADMIN_PATHS, "MfaOnAdminPaths", "MFA required on /admin/**"),
        CheckResult.passed(Item.SHORT_SESSIONS, "ShortSessions", "sessions last 12h"),
        CheckResult.passed(Item.RATE_LIMITS, "Limited", "100/min per IP"),
        CheckResult.failed(Item.TLS_AND_HSTS, "IngressPending", "the Ingress does not (yet) enforce TLS"),
        CheckResult.passed(Item.SECRETS_SEALED, "NothingSealed", "no sealed values"),
        CheckResult.passed(Item.LEAST_PRIVILEGE, "LeastPrivilege", "own ServiceAccount without token"),
        CheckResult.relaxed(Item.MINIMAL_RETENTION, "PurgeOffByOverride", "no scheduled purge: " + NO_DATA_WHY),
        CheckResult.passed(Item.SAFE_OVERRIDES, "OverridesJustified", "every relaxed default is justified"));
  }

  static GenericKubernetesResource report(MicroApp app, List<CheckResult> checks, GenericKubernetesResource previous,
      Instant now) {
    return ChecklistReport.desired(app, checks, AppPlan.resolve(app, POLICY), previous, now);
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> results(GenericKubernetesResource r) {
    return (List<Map<String, Object>>) r.getAdditionalProperties().get("results");
  }

  static Map<String, Object> result(GenericKubernetesResource r, String rule) {
    return results(r).stream().filter(m -> rule.equals(m.get("rule"))).findFirst().orElseThrow();
  }

  /** As the API server hands it back: through JSON, with the fields the server adds. */
  static GenericKubernetesResource asStored(GenericKubernetesResource r) {
    GenericKubernetesResource stored = Serialization.unmarshal(Serialization.asJson(r), GenericKubernetesResource.class);
    stored.getMetadata().setResourceVersion("4711");
    stored.getMetadata().setUid("5c3f0d3e-0000-4000-8000-000000000001");
    stored.getMetadata().setCreationTimestamp("2026-11-29T10:00:01Z");
    return stored;
  }

  @Test
  void oneResultPerItemWithEachOutcomeMappedAndCounted() {
    GenericKubernetesResource r = report(relaxedApp(), checks(), null, T0);

    assertThat(results(r)).extracting(m -> m.get("rule")).containsExactly("signInRequired", "mfaForAdminPaths",
        "shortSessions", "rateLimits", "tlsAndHsts", "secretsSealed", "leastPrivilege", "minimalRetention",
        "safeOverrides");
    assertThat(results(r)).allSatisfy(m -> {
      assertThat(m).containsEntry("policy", "microapp-checklist").containsEntry("source", "microapp-operator")
          .containsEntry("scored", true);
      assertThat(m.get("timestamp")).isEqualTo(Map.of("seconds", T0.getEpochSecond(), "nanos", 0));
    });
    assertThat(result(r, "mfaForAdminPaths")).containsEntry("result", "pass")
        .containsEntry("message", "MFA required on /admin/**").containsEntry("severity", "high")
        .containsEntry("category", "Authentication");
    assertThat(result(r, "tlsAndHsts")).containsEntry("result", "fail").containsEntry("severity", "high")
        .containsEntry("message", "the Ingress does not (yet) enforce TLS")
        .containsEntry("properties", Map.of("checklistItem", "5", "condition", "TLSEnforced", "reason", "IngressPending"));
    // the spec asked for 20h; the cluster maximum applies: the default holds, the spec needs fixing
    assertThat(result(r, "shortSessions")).containsEntry("result", "warn").containsEntry("severity", "medium");
    assertThat((String) result(r, "shortSessions").get("message")).contains("20h").contains("12h");
    assertThat(r.getAdditionalProperties().get("summary"))
        .isEqualTo(Map.of("pass", 5, "fail", 1, "warn", 1, "error", 0, "skip", 2));
  }

  @Test
  void relaxedItemsAreSkippedWithTheOverrideAndItsJustification() {
    GenericKubernetesResource r = report(relaxedApp(), checks(), null, T0);

    assertThat(result(r, "signInRequired")).containsEntry("result", "skip").containsEntry("severity", "critical")
        .containsEntry("properties", Map.of("checklistItem", "1", "condition", "AuthEnforced",
            "reason", "PublicByOverride", "override", "visibility", "justification", PUBLIC_WHY));
    assertThat(result(r, "minimalRetention")).containsEntry("result", "skip")
        .containsEntry("properties", Map.of("checklistItem", "8", "condition", "RetentionScheduled",
            "reason", "PurgeOffByOverride", "override", "retention", "justification", NO_DATA_WHY));
  }

  @Test
  void scopedToTheAppAndOwnedByIt() {
    MicroApp app = relaxedApp();
    GenericKubernetesResource r = report(app, checks(), null, T0);

    assertThat(r.getApiVersion()).isEqualTo("openreports.io/v1alpha1");
    assertThat(r.getKind()).isEqualTo("Report");
    assertThat(r.getMetadata().getName()).isEqualTo("where2eat-checklist");
    assertThat(r.getMetadata().getNamespace()).isEqualTo("team-food");
    assertThat(r.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "microapp-operator")
        .containsEntry(Names.APP_LABEL, "where2eat");
    assertThat(r.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getUid()).isEqualTo(app.getMetadata().getUid());
      assertThat(o.getKind()).isEqualTo("MicroApp");
      assertThat(o.getApiVersion()).isEqualTo("safedefaults.io/v1alpha1");
      assertThat(o.getController()).isTrue();
    });
    assertThat(r.getAdditionalProperties()).containsEntry("source", "microapp-operator")
        .containsEntry("scope", Map.of("apiVersion", "safedefaults.io/v1alpha1", "kind", "MicroApp",
            "name", "where2eat", "namespace", "team-food", "uid", app.getMetadata().getUid()));
  }

  @Test
  void severityIsTheItemsWhateverTheOutcome() {
    Map<Item, String> expected = Map.of(Item.SIGN_IN_REQUIRED, "critical", Item.MFA_FOR_ADMIN_PATHS, "high",
        Item.SHORT_SESSIONS, "medium", Item.RATE_LIMITS, "medium", Item.TLS_AND_HSTS, "high",
        Item.SECRETS_SEALED, "high", Item.LEAST_PRIVILEGE, "high", Item.MINIMAL_RETENTION, "medium",
        Item.SAFE_OVERRIDES, "high", Item.IMAGE_SCANNED, "high");
    assertThat(expected).containsOnlyKeys(Item.values());
    for (Item item : Item.values()) {
      for (CheckResult check : List.of(CheckResult.passed(item, "R", "m"), CheckResult.failed(item, "R", "m"))) {
        GenericKubernetesResource r = report(TestApps.where2eat("ns"), List.of(check), null, T0);
        assertThat(result(r, item.key)).as(item + " " + check.outcome()).containsEntry("severity", expected.get(item));
      }
    }
  }

  @Test
  void equalInputGivesAnEqualReportAndUnchangedResultsKeepTheirTimestamps() {
    MicroApp app = relaxedApp();
    GenericKubernetesResource first = report(app, checks(), null, T0);
    assertThat(report(app, checks(), null, T0)).isEqualTo(first);

    // later, with the first one stored: nothing changed, so nothing differs (no write)
    GenericKubernetesResource stored = asStored(first);
    GenericKubernetesResource again = report(app, checks(), stored, T1);
    assertThat(again).isEqualTo(first);
    assertThat(ReportPublisher.matches(again, stored)).isTrue();

    // TLS now passes: its result is new (found at T1), the others still date from T0
    List<CheckResult> fixed = new ArrayList<>(checks());
    fixed.set(4, CheckResult.passed(Item.TLS_AND_HSTS, "TLSEnforced", "https://where2eat.apps.example.com"));
    GenericKubernetesResource changed = report(app, fixed, stored, T1);
    assertThat(ReportPublisher.matches(changed, stored)).isFalse();
    assertThat(result(changed, "tlsAndHsts")).containsEntry("result", "pass")
        .containsEntry("timestamp", Map.of("seconds", T1.getEpochSecond(), "nanos", 0));
    assertThat(results(changed)).filteredOn(m -> !"tlsAndHsts".equals(m.get("rule")))
        .allSatisfy(m -> assertThat(m.get("timestamp")).isEqualTo(Map.of("seconds", T0.getEpochSecond(), "nanos", 0)));
    assertThat(changed.getAdditionalProperties().get("summary"))
        .isEqualTo(Map.of("pass", 6, "fail", 0, "warn", 1, "error", 0, "skip", 2));
  }

  @Test
  void aReportEditedByHandOrOfAnotherAppDoesNotMatch() {
    MicroApp app = relaxedApp();
    GenericKubernetesResource desired = report(app, checks(), null, T0);

    GenericKubernetesResource edited = asStored(desired);
    result(edited, "tlsAndHsts").put("result", "pass");
    assertThat(ReportPublisher.matches(desired, edited)).isFalse();

    GenericKubernetesResource unlabelled = asStored(desired);
    unlabelled.getMetadata().getLabels().remove(Names.APP_LABEL);
    assertThat(ReportPublisher.matches(desired, unlabelled)).isFalse();

    // the app was deleted and created again under its name: a new uid, a new owner
    MicroApp recreated = relaxedApp();
    recreated.getMetadata().setUid("7d1f0a11-0000-4000-8000-000000000002");
    assertThat(ReportPublisher.matches(report(recreated, checks(), asStored(desired), T0), asStored(desired))).isFalse();

    // labels and owners others add are theirs: they do not make ours differ
    GenericKubernetesResource annotated = asStored(desired);
    annotated.getMetadata().getLabels().put("team", "food");
    assertThat(ReportPublisher.matches(desired, annotated)).isTrue();
  }

  @Test
  void longAppNamesGiveDistinctReportNamesThatAreDnsLabels() {
    assertThat(Names.report(TestApps.where2eat("ns"))).isEqualTo("where2eat-checklist");
    Set<String> names = new HashSet<>();
    String base = "a".repeat(50);
    for (String name : List.of(base + "-first-app-x", base + "-second-app", "b".repeat(63), "c".repeat(53), "d".repeat(54))) {
      MicroApp app = TestApps.where2eat("ns");
      app.getMetadata().setName(name);
      String reportName = Names.report(app);
      assertThat(reportName).as(name).hasSizeLessThanOrEqualTo(63).matches(DNS_LABEL).endsWith("-checklist");
      assertThat(names.add(reportName)).as("unique: " + reportName).isTrue();
    }
    MicroApp fits = TestApps.where2eat("ns");
    fits.getMetadata().setName("c".repeat(53));
    assertThat(Names.report(fits)).isEqualTo("c".repeat(53) + "-checklist");
  }

  @Test
  void anAppThatCannotBePlannedStillGetsItsFailures() {
    MicroApp app = TestApps.where2eat("ns");
    app.setSpec(null);
    AppPlan plan = AppPlan.resolve(app, POLICY);
    assertThat(plan.fatal()).isTrue();
    List<CheckResult> failing = List.of(
        CheckResult.failed(Item.SIGN_IN_REQUIRED, "SidecarMissing", "the Deployment does not (yet) run the sidecar"),
        CheckResult.failed(Item.LEAST_PRIVILEGE, "ServiceAccountPending", "no ServiceAccount (yet)"));

    GenericKubernetesResource r = ChecklistReport.desired(app, failing, plan, null, T0);

    assertThat(results(r)).extracting(m -> m.get("result")).containsExactly("fail", "fail");
    assertThat(r.getAdditionalProperties().get("summary"))
        .isEqualTo(Map.of("pass", 0, "fail", 2, "warn", 0, "error", 0, "skip", 0));
  }
}
