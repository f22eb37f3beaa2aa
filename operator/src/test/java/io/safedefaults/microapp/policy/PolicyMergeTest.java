package io.safedefaults.microapp.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.ApprovalSpec;
import io.safedefaults.microapp.api.ImageScanSpec;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import io.safedefaults.microapp.api.RateLimitSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Precedence of policies, checked over generated sets of policies: whatever selects a namespace, its
 * effective policy is never looser than any selecting policy on any field that policy sets, it does
 * not depend on the order policies are listed in, and without policies it is exactly the flags.
 */
class PolicyMergeTest {
  static final OperatorConfig FLAGS = OperatorConfig.builder().defaultIssuer("https://login.example.com")
      .clusterIssuer("le").build();
  static final List<String> DOMAINS = List.of("example.com", "apps.example.com", "food.apps.example.com",
      "other.org", "a.other.org");
  static final List<String> ISSUERS = List.of("https://login.example.com", "https://idp.other.org/realms/x",
      "https://accounts.google.com");
  static final List<String> APPROVERS = List.of("data-stewards", "security", "food-leads", "oidc:platform");

  @Test
  void theStrictestValueOfEveryFieldAppliesWhateverTheOrder() {
    Random random = new Random(20261207L);
    for (int round = 0; round < 2000; round++) {
      List<MicroAppPolicy> policies = new ArrayList<>();
      int n = 1 + random.nextInt(4);
      for (int i = 0; i < n; i++) {
        policies.add(randomPolicy(random, "p" + i));
      }
      OperatorConfig merged = PolicyMerge.effective(FLAGS, PolicyMerge.selecting(policies, Map.of()));
      List<MicroAppPolicy> shuffled = new ArrayList<>(policies);
      Collections.shuffle(shuffled, random);
      assertThat(PolicyMerge.effective(FLAGS, PolicyMerge.selecting(shuffled, Map.of())))
          .as("order independence, round %d", round).isEqualTo(merged);

      for (MicroAppPolicy p : policies) {
        MicroAppPolicySpec s = p.getSpec();
        if (s.getSessionTTL() != null && s.getSessionTTL().getMax() != null) {
          assertThat(merged.maxSessionTtl()).isLessThanOrEqualTo(AppPlan.parseTtl(s.getSessionTTL().getMax()).orElseThrow());
        }
        if (s.getRetention() != null && s.getRetention().getMaxDays() != null) {
          assertThat(merged.maxRetentionDays()).isLessThanOrEqualTo(s.getRetention().getMaxDays());
        }
        if (s.getRateLimit() != null && s.getRateLimit().getMax() != null
            && s.getRateLimit().getMax().getPerUser() != null) {
          assertThat(merged.maxLimits().perUserPerMinute())
              .isLessThanOrEqualTo(s.getRateLimit().getMax().getPerUser().getRequestsPerMinute());
        }
        if (s.getResources() != null && s.getResources().getMax() != null && s.getResources().getMax().getCpu() != null) {
          assertThat(Quantity.exceeds(merged.maxAppResources().cpu(), s.getResources().getMax().getCpu())).isFalse();
        }
        if (s.getAllowedOverrides() != null) {
          assertThat(s.getAllowedOverrides()).containsAll(merged.allowedOverrides());
        }
        for (String host : List.of("x.food.apps.example.com", "x.apps.example.com", "x.example.com", "b.a.other.org",
            "x.other.org", "login.example.net")) {
          if (merged.allowsHost(host) && s.getAllowedHostSuffixes() != null) {
            assertThat(s.getAllowedHostSuffixes()).as("%s allowed by the merge must be allowed by %s", host,
                p.getMetadata().getName()).anyMatch(suffix -> OperatorConfig.covers(suffix, host));
          }
        }
        for (String issuer : ISSUERS) {
          if (merged.allowsIssuer(issuer) && s.getAllowedIssuers() != null) {
            assertThat(s.getAllowedIssuers()).contains(issuer);
          }
        }
        if (s.getMode() == MicroAppPolicySpec.Mode.ENFORCE) {
          assertThat(merged.mode()).isEqualTo(OperatorConfig.Mode.ENFORCE);
        }
        ImageScanSpec scan = s.getImageScan();
        if (scan != null) {
          if (scan.getMode() != null) {
            assertThat(merged.imageScan().mode()).as("scan mode").isGreaterThanOrEqualTo(scan.getMode());
          }
          if (scan.getFailAt() != null) {
            assertThat(merged.imageScan().failAt()).as("fails at this severity or a lower one")
                .isGreaterThanOrEqualTo(scan.getFailAt());
          }
          if (Boolean.TRUE.equals(scan.getIncludeUnfixed())) {
            assertThat(merged.imageScan().includeUnfixed()).isTrue();
          }
        }
        ApprovalSpec approval = s.getApproval();
        if (approval != null && Boolean.TRUE.equals(approval.getRequired())) {
          assertThat(merged.approval().required()).as("one policy requiring approval is enough").isTrue();
        }
        if (approval != null && approval.getApproverGroups() != null) {
          assertThat(approval.getApproverGroups()).as("only groups %s names may approve", p.getMetadata().getName())
              .containsAll(merged.approval().approverGroups());
        }
      }
      boolean anyRequires = policies.stream().map(x -> x.getSpec().getApproval())
          .anyMatch(a -> a != null && Boolean.TRUE.equals(a.getRequired()));
      assertThat(merged.approval().required()).as("required only when a policy requires it").isEqualTo(anyRequires);
      // a group every policy that names groups names may approve: the intersection, not less
      List<List<String>> named = policies.stream().map(x -> x.getSpec().getApproval())
          .filter(a -> a != null && a.getApproverGroups() != null).map(ApprovalSpec::getApproverGroups).toList();
      for (String g : APPROVERS) {
        assertThat(merged.approval().approverGroups().contains(g)).as("group %s", g)
            .isEqualTo(!named.isEmpty() && named.stream().allMatch(l -> l.contains(g)));
      }
      // Defaults never exceed their maxima, even when a policy writes them so.
      assertThat(merged.defaultSessionTtl()).isLessThanOrEqualTo(merged.maxSessionTtl());
      assertThat(merged.defaultRetentionDays()).isLessThanOrEqualTo(merged.maxRetentionDays());
      assertThat(merged.defaultLimits().perIpPerMinute()).isLessThanOrEqualTo(merged.maxLimits().perIpPerMinute());
      assertThat(Quantity.exceeds(merged.appResources().cpuLimit(), merged.maxAppResources().cpu())).isFalse();
      assertThat(Quantity.exceeds(merged.appResources().memory(), merged.maxAppResources().memory())).isFalse();
      assertThat(merged.maxSessionTtl()).isLessThanOrEqualTo(Duration.ofHours(24));
      assertThat(merged.policies()).hasSize(n);
    }
  }

  @Test
  void approvalIsRequiredByAnyPolicyAndOnlyCommonApproverGroupsMayApprove() {
    MicroAppPolicy data = policy("org-data", Map.of());
    data.getSpec().setApproval(new ApprovalSpec());
    data.getSpec().getApproval().setRequired(true);
    data.getSpec().getApproval().setApproverGroups(List.of("data-stewards", "security"));
    MicroAppPolicy team = policy("team-food", Map.of());
    team.getSpec().setApproval(new ApprovalSpec());
    team.getSpec().getApproval().setApproverGroups(List.of("security", "food-leads"));
    assertThat(PolicyMerge.effective(FLAGS, List.of()).approval()).isEqualTo(OperatorConfig.ApprovalRule.NONE);
    assertThat(PolicyMerge.effective(FLAGS, List.of(team)).approval().required()).isFalse();
    assertThat(PolicyMerge.effective(FLAGS, List.of(data, team)).approval())
        .isEqualTo(new OperatorConfig.ApprovalRule(true, List.of("security")));
    team.getSpec().getApproval().setApproverGroups(List.of("food-leads"));
    assertThat(PolicyMerge.effective(FLAGS, List.of(team, data)).approval())
        .as("no group in common: nobody may approve").isEqualTo(new OperatorConfig.ApprovalRule(true, List.of()));
  }

  @Test
  void withoutPoliciesTheFlagsApplyUnchanged() {
    assertThat(PolicyMerge.effective(FLAGS, List.of())).isSameAs(FLAGS);
    MicroAppPolicy team = policy("team-a", Map.of("team", "a"));
    assertThat(PolicyMerge.selecting(List.of(team), Map.of("team", "b"))).isEmpty();
    assertThat(PolicyMerge.effective(FLAGS, PolicyMerge.selecting(List.of(team), Map.of("team", "b")))).isSameAs(FLAGS);
  }

  @Test
  void aFieldAPolicyLeavesOutKeepsTheFlagValueAndOneItSetsReplacesIt() {
    MicroAppPolicy team = policy("team-a", Map.of("team", "a"));
    team.getSpec().setRetention(new MicroAppPolicySpec.Retention());
    team.getSpec().getRetention().setMaxDays(730); // looser than the flag's 365: a policy may allow more
    OperatorConfig merged = PolicyMerge.effective(FLAGS, PolicyMerge.selecting(List.of(team), Map.of("team", "a")));
    assertThat(merged.maxRetentionDays()).isEqualTo(730);
    assertThat(merged.maxSessionTtl()).isEqualTo(FLAGS.maxSessionTtl());
    assertThat(merged.source()).isEqualTo("policy team-a");
  }

  @Test
  void domainListsIntersectAsTreesAndNothingInCommonAllowsNoHost() {
    assertThat(PolicyMerge.intersectDomains(null, List.of(List.of("example.com"), List.of("a.example.com", "other.org"))))
        .containsExactly("a.example.com");
    assertThat(PolicyMerge.intersectDomains(null, List.of(List.of("example.com"), List.of("other.org")))).isEmpty();
    OperatorConfig none = OperatorConfig.builder().allowedHostSuffixes(List.of()).build();
    assertThat(none.allowsHost("app.example.com")).isFalse();
    assertThat(FLAGS.allowsHost("anything.example.net")).isTrue();
    // a suffix covers whole labels only: food.apps.example.com does not cover evilfood.apps.example.com
    assertThat(OperatorConfig.covers("food.apps.example.com", "evilfood.apps.example.com")).isFalse();
  }

  @Test
  void selectorsFollowTheApiAndAnUnknownOperatorSelectsRatherThanLoosens() {
    var sel = NamespaceSelector.labels(Map.of("team", "a"))
        .and("tier", "In", "prod", "stage").and("legacy", "DoesNotExist");
    assertThat(PolicyMerge.matches(sel, Map.of("team", "a", "tier", "prod"))).isTrue();
    assertThat(PolicyMerge.matches(sel, Map.of("team", "a", "tier", "dev"))).isFalse();
    assertThat(PolicyMerge.matches(sel, Map.of("team", "a", "tier", "prod", "legacy", "x"))).isFalse();
    assertThat(PolicyMerge.matches(NamespaceSelector.labels(Map.of()), Map.of())).isTrue();
    var odd = NamespaceSelector.labels(Map.of()).and("x", "Like");
    assertThat(PolicyMerge.matches(odd, Map.of())).isTrue();
    MicroAppPolicy p = policy("odd", Map.of());
    p.getSpec().setNamespaceSelector(odd);
    assertThat(PolicyMerge.corrections(p)).singleElement().asString().contains("'Like'");
  }

  @Test
  void aDefaultAboveItsMaximumIsLoweredAndReported() {
    MicroAppPolicy p = policy("p", Map.of());
    p.getSpec().setSessionTTL(new MicroAppPolicySpec.SessionTtl());
    p.getSpec().getSessionTTL().setDefaultTTL("10h");
    p.getSpec().getSessionTTL().setMax("4h");
    OperatorConfig merged = PolicyMerge.effective(FLAGS, List.of(p));
    assertThat(merged.defaultSessionTtl()).isEqualTo(Duration.ofHours(4));
    assertThat(PolicyMerge.corrections(p)).containsExactly("sessionTTL.defaultTTL is above sessionTTL.max; the maximum is the default");
  }

  static MicroAppPolicy policy(String name, Map<String, String> labels) {
    MicroAppPolicy p = new MicroAppPolicy();
    p.setMetadata(new ObjectMetaBuilder().withName(name).build());
    MicroAppPolicySpec s = new MicroAppPolicySpec();
    s.setNamespaceSelector(NamespaceSelector.labels(labels));
    p.setSpec(s);
    return p;
  }

  private static MicroAppPolicy randomPolicy(Random r, String name) {
    MicroAppPolicy p = policy(name, Map.of());
    MicroAppPolicySpec s = p.getSpec();
    if (r.nextBoolean()) {
      s.setImageScan(new ImageScanSpec());
      s.getImageScan().setMode(r.nextBoolean() ? null : ImageScanSpec.Mode.values()[r.nextInt(3)]);
      s.getImageScan().setFailAt(r.nextBoolean() ? null : ImageScanSpec.Severity.values()[r.nextInt(4)]);
      s.getImageScan().setIncludeUnfixed(r.nextBoolean() ? null : r.nextBoolean());
    }
    if (r.nextBoolean()) {
      s.setApproval(new ApprovalSpec());
      s.getApproval().setRequired(r.nextBoolean() ? null : r.nextBoolean());
      s.getApproval().setApproverGroups(r.nextBoolean() ? null : pick(r, APPROVERS));
    }
    s.setMode(r.nextBoolean() ? MicroAppPolicySpec.Mode.ENFORCE : MicroAppPolicySpec.Mode.AUDIT);
    if (r.nextBoolean()) {
      s.setAllowedHostSuffixes(pick(r, DOMAINS));
    }
    if (r.nextBoolean()) {
      s.setAllowedIssuers(pick(r, ISSUERS));
    }
    if (r.nextBoolean()) {
      Set<Setting> set = EnumSet.noneOf(Setting.class);
      for (Setting x : Setting.values()) {
        if (r.nextBoolean()) {
          set.add(x);
        }
      }
      s.setAllowedOverrides(new ArrayList<>(set));
    }
    if (r.nextBoolean()) {
      s.setSessionTTL(new MicroAppPolicySpec.SessionTtl());
      s.getSessionTTL().setMax((1 + r.nextInt(30)) + "h");
      if (r.nextBoolean()) {
        s.getSessionTTL().setDefaultTTL((1 + r.nextInt(30)) + "h");
      }
    }
    if (r.nextBoolean()) {
      s.setRetention(new MicroAppPolicySpec.Retention());
      s.getRetention().setMaxDays(1 + r.nextInt(800));
      s.getRetention().setDefaultDays(r.nextBoolean() ? null : 1 + r.nextInt(800));
    }
    if (r.nextBoolean()) {
      s.setRateLimit(new MicroAppPolicySpec.Limits());
      RateLimitSpec max = new RateLimitSpec();
      max.setPerUser(new RateLimitSpec.PerUser());
      max.getPerUser().setRequestsPerMinute(1 + r.nextInt(2000));
      s.getRateLimit().setMax(max);
      RateLimitSpec def = new RateLimitSpec();
      def.setPerIP(new RateLimitSpec.PerIp());
      def.getPerIP().setRequestsPerMinute(1 + r.nextInt(2000));
      s.getRateLimit().setDefaults(def);
    }
    if (r.nextBoolean()) {
      s.setResources(new MicroAppPolicySpec.Resources());
      MicroAppPolicySpec.Quantities max = new MicroAppPolicySpec.Quantities();
      max.setCpu(r.nextBoolean() ? (100 + r.nextInt(4000)) + "m" : String.valueOf(1 + r.nextInt(8)));
      max.setMemory((64 + r.nextInt(8000)) + "Mi");
      s.getResources().setMax(max);
      MicroAppPolicySpec.Quantities def = new MicroAppPolicySpec.Quantities();
      def.setCpu((50 + r.nextInt(5000)) + "m");
      def.setMemory(r.nextBoolean() ? (64 + r.nextInt(9000)) + "Mi" : "1Gi");
      s.getResources().setDefaults(def);
    }
    return p;
  }

  private static List<String> pick(Random r, List<String> from) {
    List<String> out = new ArrayList<>();
    for (String x : from) {
      if (r.nextInt(3) == 0) {
        out.add(x);
      }
    }
    return out;
  }
}
