package io.safedefaults.microapp.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.safedefaults.microapp.api.AuthSpec;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppSpec;
import io.safedefaults.microapp.api.RateLimitSpec;
import io.safedefaults.microapp.api.Visibility;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AppPlanTest {
  static final OperatorConfig POLICY = OperatorConfig.builder()
      .defaultIssuer("https://login.example.com").clusterIssuer("le").build();

  static MicroApp minimal(String name) {
    MicroApp app = new MicroApp();
    app.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("ns").build());
    MicroAppSpec spec = new MicroAppSpec();
    spec.setImage("img:1");
    spec.setOverrides(new ArrayList<>());
    // Every app says how its old data is purged; without it NoPurgeTarget is reported (PurgeJobTest).
    io.safedefaults.microapp.api.RetentionSpec retention = new io.safedefaults.microapp.api.RetentionSpec();
    io.safedefaults.microapp.api.PurgeSpec purge = new io.safedefaults.microapp.api.PurgeSpec();
    purge.setHttp(new io.safedefaults.microapp.api.PurgeSpec.Http());
    purge.getHttp().setPath("/internal/purge");
    retention.setPurge(purge);
    spec.setRetention(retention);
    app.setSpec(spec);
    return app;
  }

  @Test
  void leftOutSettingsGetTheSafeDefaults() {
    AppPlan plan = AppPlan.resolve(minimal("notes"), POLICY);
    assertThat(plan.visibility()).isEqualTo(Visibility.PRIVATE);
    assertThat(plan.issuer()).isEqualTo("https://login.example.com");
    assertThat(plan.clientId()).isEqualTo("notes");
    assertThat(plan.sessionTtl()).isEqualTo(Duration.ofHours(8));
    assertThat(plan.limits()).isEqualTo(new OperatorConfig.Limits(100, 10, 60));
    assertThat(plan.mfaOnAdminPaths()).isTrue();
    assertThat(plan.port()).isEqualTo(8080);
    assertThat(plan.problems()).isEmpty();
    assertThat(plan.exposed()).as("no host, no Ingress").isFalse();
  }

  @Test
  void publicWithoutAllowedOverrideFailsClosedToPrivate() {
    MicroApp app = minimal("landing");
    app.getSpec().setVisibility(Visibility.PUBLIC);
    app.getSpec().setHost("landing.example.com");
    OperatorConfig strict = OperatorConfig.builder().clusterIssuer("le").defaultIssuer("https://i")
        .allowedOverrides(Set.of()).build();
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.VISIBILITY, "marketing page, no personal data"));

    AppPlan plan = AppPlan.resolve(app, strict);

    assertThat(plan.visibility()).isEqualTo(Visibility.PRIVATE);
    assertThat(plan.exposed()).isFalse();
    // the first problem is the one Ready names
    assertThat(plan.problems()).first().satisfies(p -> {
      assertThat(p.reason()).isEqualTo("OverrideNotAllowed");
      assertThat(p.message()).contains("spec.overrides[0]").contains("visibility").contains("platform team");
    });
  }

  @Test
  void justifiedAllowedOverrideRelaxesVisibility() {
    MicroApp app = minimal("landing");
    app.getSpec().setVisibility(Visibility.PUBLIC);
    app.getSpec().getOverrides().add(new DefaultOverride(Setting.VISIBILITY, "marketing page, no personal data"));
    AppPlan plan = AppPlan.resolve(app, POLICY);
    assertThat(plan.visibility()).isEqualTo(Visibility.PUBLIC);
    assertThat(plan.relaxed()).containsEntry(Setting.VISIBILITY, "marketing page, no personal data");
    assertThat(plan.problems()).isEmpty();
  }

  @Test
  void missingIssuerBlocksExposureWithAnActionableMessage() {
    MicroApp app = minimal("notes");
    app.getSpec().setHost("notes.example.com");
    AppPlan plan = AppPlan.resolve(app, OperatorConfig.builder().clusterIssuer("le").build());
    assertThat(plan.exposed()).isFalse();
    // the first problem is the one Ready names
    assertThat(plan.problems()).first().satisfies(p -> {
      assertThat(p.reason()).isEqualTo("IssuerMissing");
      assertThat(p.message()).startsWith("spec.auth.issuer").contains("set spec.auth.issuer");
    });
  }

  @Test
  void hostWithoutClusterIssuerGetsNoIngress() {
    MicroApp app = minimal("notes");
    app.getSpec().setHost("notes.example.com");
    AppPlan plan = AppPlan.resolve(app, OperatorConfig.builder().defaultIssuer("https://i").build());
    assertThat(plan.exposed()).isFalse();
    assertThat(plan.problems()).extracting(Problem::reason).containsExactly("ClusterIssuerMissing");
  }

  @Test
  void sessionLongerThanPolicyIsCappedAndReported() {
    MicroApp app = minimal("notes");
    AuthSpec auth = new AuthSpec();
    auth.setSessionTTL("20h");
    app.getSpec().setAuth(auth);
    AppPlan plan = AppPlan.resolve(app, POLICY);
    assertThat(plan.sessionTtl()).isEqualTo(Duration.ofHours(12));
    // the first problem is the one Ready names
    assertThat(plan.problems()).first().satisfies(p -> {
      assertThat(p.reason()).isEqualTo("SessionTTLTooLong");
      assertThat(p.message()).contains("20h").contains("12h");
      assertThat(p.blocksExposure()).as("a capped session is still secure").isFalse();
    });
  }

  @Test
  void limitsAboveTheMaximumAreCappedUnlessOverridden() {
    MicroApp app = minimal("api");
    RateLimitSpec rl = new RateLimitSpec();
    RateLimitSpec.PerUser pu = new RateLimitSpec.PerUser();
    pu.setRequestsPerMinute(5000);
    rl.setPerUser(pu);
    app.getSpec().setRateLimit(rl);

    AppPlan capped = AppPlan.resolve(app, POLICY);
    assertThat(capped.limits().perUserPerMinute()).isEqualTo(600);
    assertThat(capped.problems()).extracting(Problem::message)
        .containsExactly("spec.rateLimit.perUser.requestsPerMinute 5000 is above the maximum 600 of the cluster policy (operator flags); 600 applies"
            + " until you lower it or add a justified rateLimit override");

    app.getSpec().getOverrides().add(new DefaultOverride(Setting.RATE_LIMIT, "batch API used by the nightly sync job"));
    OperatorConfig lenient = OperatorConfig.builder().defaultIssuer("https://i")
        .allowedOverrides(Set.of(Setting.RATE_LIMIT)).build();
    AppPlan relaxed = AppPlan.resolve(app, lenient);
    assertThat(relaxed.limits().perUserPerMinute()).isEqualTo(5000);
    assertThat(relaxed.problems()).isEmpty();
  }

  @Test
  void aNameThatCannotNameAServiceIsFatal() {
    AppPlan plan = AppPlan.resolve(minimal("9lives"), POLICY);
    assertThat(plan.fatal()).isTrue();
    assertThat(plan.problems().get(0).message()).contains("metadata.name '9lives'").contains("starting with a letter");
  }

  @Test
  void parsesAndFormatsDurationsTheWayUsersWriteThem() {
    assertThat(AppPlan.parseTtl("1h30m")).contains(Duration.ofMinutes(90));
    assertThat(AppPlan.parseTtl("90m")).contains(Duration.ofMinutes(90));
    assertThat(AppPlan.parseTtl("0h")).isEmpty();
    assertThat(AppPlan.parseTtl("8 hours")).isEmpty();
    assertThat(AppPlan.parseTtl("")).isEmpty();
    assertThat(AppPlan.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
    assertThat(AppPlan.format(Duration.ofHours(8))).isEqualTo("8h");
    assertThat(AppPlan.format(Duration.ofMinutes(5))).isEqualTo("5m");
  }

  @Test
  void allowListsAreCopiedNotShared() {
    MicroApp app = minimal("notes");
    AuthSpec auth = new AuthSpec();
    auth.setAllowedGroups(new ArrayList<>(List.of("team")));
    app.getSpec().setAuth(auth);
    AppPlan plan = AppPlan.resolve(app, POLICY);
    auth.getAllowedGroups().add("everyone");
    assertThat(plan.allowedGroups()).containsExactly("team");
  }

  @Test
  void anAppWithoutSpecCreatesNothingAndSaysWhatToAdd() {
    MicroApp app = minimal("nospec");
    app.setSpec(null);
    AppPlan plan = AppPlan.resolve(app, POLICY);
    assertThat(plan.fatal()).as("no child at all").isTrue();
    assertThat(plan.exposed()).isFalse();
    // the first problem is the one Ready names
    assertThat(plan.problems()).first().satisfies(p -> {
      assertThat(p.reason()).isEqualTo("SpecMissing");
      assertThat(p.message()).contains("spec.image");
    });
    // what the reconciler reads next must not throw either (it did: NullPointerException on every retry)
    var unsealed = io.safedefaults.microapp.secrets.Unsealer.open(app, null);
    assertThat(unsealed.statuses()).isEmpty();
    assertThat(unsealed.failures()).isEmpty();
  }
}
