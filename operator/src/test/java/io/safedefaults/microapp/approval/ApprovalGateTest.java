package io.safedefaults.microapp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.approval.Approval.State;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ApprovalGateTest {
  static final OperatorConfig.ApprovalRule STEWARDS = new OperatorConfig.ApprovalRule(true, List.of("data-stewards"));

  @Test
  void onlyAnApprovalOfExactlyTheCurrentGenerationWithAnApproverCounts() {
    Random r = new Random(18_5L);
    for (int round = 0; round < 500; round++) {
      long generation = 1 + r.nextInt(1000);
      long other = generation + 1 + r.nextInt(5);
      // texts that name a generation to the eye but are not the canonical number the API server writes
      List<String> unreadable = List.of("0" + generation, " " + generation, generation + " ", "+" + generation,
          generation + ".0", "-" + generation, "1e3", "", "gen-" + generation, "\u0661", "99999999999999999999");
      String bad = unreadable.get(r.nextInt(unreadable.size()));
      MicroApp app = app(generation, Map.of(ApprovalGate.APPROVED_GENERATION, bad, ApprovalGate.APPROVED_BY, "dana"));
      assertThat(ApprovalGate.judge(app, plan(app, STEWARDS)).state()).as("'%s' at %d", bad, generation)
          .isEqualTo(State.MALFORMED);

      app = app(generation, Map.of(ApprovalGate.APPROVED_GENERATION, Long.toString(other),
          ApprovalGate.APPROVED_BY, "dana"));
      Approval stale = ApprovalGate.judge(app, plan(app, STEWARDS));
      assertThat(stale.state()).isEqualTo(State.STALE);
      Problem p = ApprovalGate.problem(plan(app, STEWARDS), stale).orElseThrow();
      assertThat(p.blocksExposure()).isTrue();
      assertThat(p.reason()).isEqualTo("ApprovalRequired");
      assertThat(p.message()).contains("generation " + generation + ": the approval is of generation " + other)
          .contains("approved-generation=" + generation).contains("data-stewards");

      String by = r.nextBoolean() ? null : r.nextBoolean() ? "" : "  ";
      Map<String, String> noApprover = new HashMap<>(Map.of(ApprovalGate.APPROVED_GENERATION, Long.toString(generation)));
      if (by != null) {
        noApprover.put(ApprovalGate.APPROVED_BY, by);
      }
      app = app(generation, noApprover);
      assertThat(ApprovalGate.judge(app, plan(app, STEWARDS)).state()).as("approved-by '%s'", by)
          .isEqualTo(State.MALFORMED);

      app = app(generation, Map.of(ApprovalGate.APPROVED_GENERATION, Long.toString(generation),
          ApprovalGate.APPROVED_BY, "dana"));
      Approval ok = ApprovalGate.judge(app, plan(app, STEWARDS));
      assertThat(ok).isEqualTo(new Approval(State.APPROVED, generation, generation, "dana"));
      assertThat(ApprovalGate.problem(plan(app, STEWARDS), ok)).isEmpty();
      assertThat(ApprovalGate.judge(app, plan(app, OperatorConfig.ApprovalRule.NONE)).state())
          .isEqualTo(State.NOT_REQUIRED);
    }
  }

  @Test
  void withoutACommonApproverGroupNobodyCanApproveAndTheStatusSaysWhy() {
    MicroApp app = app(3, Map.of(ApprovalGate.APPROVED_GENERATION, "3", ApprovalGate.APPROVED_BY, "dana"));
    AppPlan plan = plan(app, new OperatorConfig.ApprovalRule(true, List.of()));
    Approval a = ApprovalGate.judge(app, plan);
    assertThat(a.state()).isEqualTo(State.NO_APPROVERS);
    Problem p = ApprovalGate.problem(plan, a).orElseThrow();
    assertThat(p.reason()).isEqualTo("NoApprovers");
    assertThat(p.message()).contains("approval.approverGroups").doesNotContain("kubectl annotate");
  }

  @Test
  void anAppWithoutAHostHasNothingToExposeAndNoProblem() {
    MicroApp app = app(1, Map.of());
    app.getSpec().setHost(null);
    AppPlan plan = plan(app, STEWARDS);
    assertThat(ApprovalGate.judge(app, plan).state()).isEqualTo(State.MISSING);
    assertThat(ApprovalGate.problem(plan, ApprovalGate.judge(app, plan))).isEmpty();
  }

  @Test
  void theAuditedApproverIdIsStableAndDoesNotCarryTheName() {
    for (String name : List.of("dana.steward@example.com", "oidc:dana", "system:serviceaccount:ops:approver")) {
      String id = ApprovalGate.approverId(name);
      assertThat(id).matches("k-[0-9a-f]{32}").isEqualTo(ApprovalGate.approverId(name));
      assertThat(id).doesNotContain("dana").doesNotContain("example");
    }
    assertThat(ApprovalGate.approverId("dana")).isNotEqualTo(ApprovalGate.approverId("Dana"));
  }

  @Test
  void updatesPassTheFilterOnANewGenerationADeletionOrAnApprovalChangeOnly() {
    SpecOrApprovalChanged filter = new SpecOrApprovalChanged();
    MicroApp before = app(4, Map.of("team", "food"));
    MicroApp statusOnly = app(4, Map.of("team", "food"));
    statusOnly.setStatus(new io.safedefaults.microapp.api.MicroAppStatus());
    assertThat(filter.accept(statusOnly, before)).as("our own status write").isFalse();
    assertThat(filter.accept(app(4, Map.of("team", "other")), before)).as("an unrelated annotation").isFalse();
    assertThat(filter.accept(app(5, Map.of("team", "food")), before)).as("a spec change").isTrue();
    for (String key : List.of(ApprovalGate.APPROVED_GENERATION, ApprovalGate.APPROVED_BY)) {
      assertThat(filter.accept(app(4, Map.of("team", "food", key, "4")), before)).as(key).isTrue();
      assertThat(filter.accept(before, app(4, Map.of("team", "food", key, "4")))).as(key + " removed").isTrue();
    }
    MicroApp deleting = app(4, Map.of("team", "food"));
    deleting.getMetadata().setDeletionTimestamp("2026-12-07T21:00:00Z");
    assertThat(filter.accept(deleting, before)).isTrue();
  }

  static MicroApp app(long generation, Map<String, String> annotations) {
    MicroApp app = TestApps.where2eat("orgdata");
    app.getSpec().setHost("where2eat.apps.example.com");
    app.getMetadata().setGeneration(generation);
    app.getMetadata().setAnnotations(new HashMap<>(annotations));
    return app;
  }

  static AppPlan plan(MicroApp app, OperatorConfig.ApprovalRule rule) {
    return AppPlan.resolve(app, OperatorConfig.builder().clusterIssuer("letsencrypt")
        .defaultIssuer("https://login.example.com/realms/acme").approval(rule).build(), Instant.EPOCH);
  }
}
