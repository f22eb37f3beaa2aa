package io.safedefaults.microapp.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.api.AppResources;
import io.safedefaults.microapp.api.AuthSpec;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** What a namespace's policy does to an app: hosts, issuers, resources, audit mode and exemptions. */
class AppPlanPolicyTest {
  static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");

  static OperatorConfig team(MicroAppPolicySpec.Mode mode) {
    MicroAppPolicy p = PolicyMergeTest.policy("team-food", Map.of("team", "food"));
    p.getSpec().setMode(mode);
    p.getSpec().setAllowedHostSuffixes(List.of("food.apps.example.com"));
    p.getSpec().setAllowedIssuers(List.of("https://login.example.com/"));
    p.getSpec().setResources(new MicroAppPolicySpec.Resources());
    p.getSpec().getResources().setMax(new MicroAppPolicySpec.Quantities());
    p.getSpec().getResources().getMax().setCpu("2");
    p.getSpec().getResources().getMax().setMemory("1Gi");
    return PolicyMerge.effective(PolicyMergeTest.FLAGS, List.of(p));
  }

  static MicroApp app(String host, String issuer) {
    MicroApp app = AppPlanTest.minimal("where2eat");
    app.getSpec().setHost(host);
    app.getSpec().setAuth(new AuthSpec());
    app.getSpec().getAuth().setIssuer(issuer);
    return app;
  }

  @Test
  void aHostOutsideTheTeamsDomainsIsNotExposedAndTheConditionNamesThem() {
    AppPlan plan = AppPlan.resolve(app("login.example.com", "https://login.example.com"), team(MicroAppPolicySpec.Mode.ENFORCE), NOW);
    assertThat(plan.exposed()).isFalse();
    assertThat(plan.problems(Problem.Area.HOST)).singleElement().satisfies(p -> {
      assertThat(p.reason()).isEqualTo("HostNotAllowed");
      assertThat(p.message()).contains("spec.host login.example.com", "policy team-food", "food.apps.example.com");
    });
    // lookalikes are outside too: only whole labels match
    for (String host : List.of("evilfood.apps.example.com", "food.apps.example.com.evil.org", "apps.example.com")) {
      assertThat(AppPlan.resolve(app(host, "https://login.example.com"), team(MicroAppPolicySpec.Mode.ENFORCE), NOW)
          .exposed()).as(host).isFalse();
    }
    assertThat(AppPlan.resolve(app("where2eat.food.apps.example.com", "https://login.example.com"),
        team(MicroAppPolicySpec.Mode.ENFORCE), NOW).exposed()).isTrue();
  }

  @Test
  void anIssuerThePolicyDoesNotListBlocksSignedInAppsButNotPublicOnes() {
    AppPlan plan = AppPlan.resolve(app("a.food.apps.example.com", "https://accounts.google.com"),
        team(MicroAppPolicySpec.Mode.ENFORCE), NOW);
    assertThat(plan.exposed()).isFalse();
    assertThat(plan.problems(Problem.Area.AUTH)).singleElement().satisfies(p -> {
      assertThat(p.reason()).isEqualTo("IssuerNotAllowed");
      assertThat(p.message()).contains("https://accounts.google.com", "https://login.example.com");
    });
    MicroApp org = app("a.food.apps.example.com", "https://accounts.google.com");
    org.getSpec().setVisibility(io.safedefaults.microapp.api.Visibility.ORGANIZATION);
    assertThat(AppPlan.resolve(org, team(MicroAppPolicySpec.Mode.ENFORCE), NOW).exposed()).isFalse();
  }

  @Test
  void organizationVisibilityAtAProviderThatIsNotTheOrganizationsIsRefusedByDefault() {
    MicroApp org = app("a.apps.example.com", "https://accounts.google.com");
    org.getSpec().setVisibility(io.safedefaults.microapp.api.Visibility.ORGANIZATION);
    AppPlan plan = AppPlan.resolve(org, PolicyMergeTest.FLAGS, NOW);
    assertThat(plan.exposed()).isFalse();
    assertThat(plan.problems(Problem.Area.AUTH)).extracting(Problem::reason).containsExactly("OrganizationIssuerNotAllowed");
    // the organization's own provider (the default issuer), and private apps anywhere, are fine
    org.getSpec().getAuth().setIssuer("https://login.example.com/");
    assertThat(AppPlan.resolve(org, PolicyMergeTest.FLAGS, NOW).exposed()).isTrue();
    MicroApp priv = app("a.apps.example.com", "https://accounts.google.com");
    assertThat(AppPlan.resolve(priv, PolicyMergeTest.FLAGS, NOW).exposed()).isTrue();
  }

  @Test
  void resourcesAboveTheMaximumAreLoweredToItAndStatusSaysWhoseMaximum() {
    Random r = new Random(7);
    for (int i = 0; i < 300; i++) {
      MicroApp a = app("a.food.apps.example.com", "https://login.example.com");
      a.getSpec().setResources(new AppResources());
      String cpu = r.nextBoolean() ? (1 + r.nextInt(4000)) + "m" : String.valueOf(1 + r.nextInt(1000));
      String memory = r.nextBoolean() ? (1 + r.nextInt(4096)) + "Mi" : (1 + r.nextInt(64)) + "Gi";
      a.getSpec().getResources().setCpu(cpu);
      a.getSpec().getResources().setMemory(memory);
      AppPlan plan = AppPlan.resolve(a, team(MicroAppPolicySpec.Mode.ENFORCE), NOW);
      assertThat(Quantity.exceeds(plan.appResources().cpuLimit(), "2")).isFalse();
      assertThat(Quantity.exceeds(plan.appResources().cpuRequest(), plan.appResources().cpuLimit())).isFalse();
      assertThat(Quantity.exceeds(plan.appResources().memory(), "1Gi")).isFalse();
      boolean over = Quantity.exceeds(cpu, "2") || Quantity.exceeds(memory, "1Gi");
      assertThat(plan.problems(Problem.Area.LEAST_PRIVILEGE)).as("%s %s", cpu, memory).hasSize(over ? 1 : 0);
      assertThat(plan.exposed()).as("exposed only within bounds: %s %s", cpu, memory).isEqualTo(!over);
      if (over) {
        assertThat(plan.problems(Problem.Area.LEAST_PRIVILEGE).get(0).message()).contains("policy team-food");
      } else {
        assertThat(plan.appResources()).isEqualTo(new OperatorConfig.Resources(cpu, cpu, memory));
      }
    }
  }

  @Test
  void auditModeAppliesWhatWasAskedAndKeepsTheViolationsInView() {
    MicroApp a = app("login.example.com", "https://accounts.google.com");
    a.getSpec().setResources(new AppResources());
    a.getSpec().getResources().setCpu("1000");
    a.getSpec().getOverrides().add(new DefaultOverride(Setting.NETWORK_POLICY, "the partner's crawler calls us from its namespace"));
    AppPlan plan = AppPlan.resolve(a, team(MicroAppPolicySpec.Mode.AUDIT), NOW);
    assertThat(plan.exposed()).isTrue();
    assertThat(plan.appResources().cpuLimit()).isEqualTo("1000");
    assertThat(plan.networkPolicyRelaxed()).isTrue();
    assertThat(plan.problems()).extracting(Problem::reason)
        .containsExactlyInAnyOrder("HostNotAllowed", "IssuerNotAllowed", "ResourcesAboveMaximum", "OverrideNotAllowed");
    assertThat(plan.problems()).allSatisfy(p -> {
      assertThat(p.audited()).isTrue();
      assertThat(p.blocksExposure()).isFalse();
      assertThat(p.message()).startsWith("audit: ");
    });
  }

  @Test
  void anExemptionGrantsAnOverrideUntilItExpiresAndThenSaysSo() {
    MicroAppPolicy p = PolicyMergeTest.policy("team-food", Map.of());
    MicroAppPolicySpec.Exemption e = new MicroAppPolicySpec.Exemption();
    e.setNamespace("ns");
    e.setApp("where2eat");
    e.setSettings(List.of(Setting.NETWORK_POLICY));
    e.setJustification("the partner crawler runs in its own namespace until March");
    e.setExpires("2027-03-31T00:00:00Z");
    p.getSpec().setExemptions(List.of(e));
    OperatorConfig config = PolicyMerge.effective(PolicyMergeTest.FLAGS, List.of(p));
    MicroApp a = AppPlanTest.minimal("where2eat");
    a.getSpec().getOverrides().add(new DefaultOverride(Setting.NETWORK_POLICY, "the partner's crawler calls us directly"));

    AppPlan before = AppPlan.resolve(a, config, NOW);
    assertThat(before.networkPolicyRelaxed()).isTrue();
    assertThat(before.relaxed().get(Setting.NETWORK_POLICY)).contains("exempted by policy team-food until 2027-03-31T00:00:00Z");
    assertThat(before.exemptionExpiry(NOW)).isPresent();

    AppPlan after = AppPlan.resolve(a, config, Instant.parse("2027-04-01T00:00:00Z"));
    assertThat(after.networkPolicyRelaxed()).isFalse();
    assertThat(after.problems(Problem.Area.OVERRIDES)).singleElement().satisfies(pr -> {
      assertThat(pr.reason()).isEqualTo("ExemptionExpired");
      assertThat(pr.message()).contains("team-food", "expired");
      assertThat(pr.blocksExposure()).isTrue();
    });
    // another app in the namespace gets nothing from it
    MicroApp other = AppPlanTest.minimal("other");
    other.getSpec().getOverrides().add(new DefaultOverride(Setting.NETWORK_POLICY, "the partner's crawler calls us directly"));
    assertThat(AppPlan.resolve(other, config, NOW).problems(Problem.Area.OVERRIDES)).extracting(Problem::reason)
        .containsExactly("OverrideNotAllowed");
  }
}
