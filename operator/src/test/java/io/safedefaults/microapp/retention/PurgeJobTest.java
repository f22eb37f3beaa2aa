package io.safedefaults.microapp.retention;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppSpec;
import io.safedefaults.microapp.api.PurgeSpec;
import io.safedefaults.microapp.api.RetentionSpec;
import io.safedefaults.microapp.api.SecretsSpec;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.policy.PurgeSchedule;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PurgeJobTest {
  static final OperatorConfig POLICY = OperatorConfig.builder().defaultIssuer("https://i").clusterIssuer("le").build();

  static MicroApp app(String ns, String name, PurgeSpec purge, String ttl) {
    MicroApp app = new MicroApp();
    app.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
    MicroAppSpec spec = new MicroAppSpec();
    spec.setImage("img:1");
    spec.setOverrides(new ArrayList<>());
    RetentionSpec r = new RetentionSpec();
    r.setTtl(ttl);
    r.setPurge(purge);
    spec.setRetention(r);
    app.setSpec(spec);
    return app;
  }

  static PurgeSpec http(String path) {
    PurgeSpec p = new PurgeSpec();
    PurgeSpec.Http h = new PurgeSpec.Http();
    h.setPath(path);
    p.setHttp(h);
    return p;
  }

  @Test
  void schedulesSpreadOverTheDayAndStayPut() {
    Set<Integer> minutes = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      minutes.add(PurgeSchedule.minuteOfDay("team-" + (i % 7), "app-" + i));
    }
    assertThat(minutes).as("200 apps should not pile onto a few minutes").hasSizeGreaterThan(150);
    assertThat(minutes).allSatisfy(m -> assertThat(m).isBetween(0, 24 * 60 - 1));
    assertThat(minutes.stream().filter(m -> m < 60).count()).as("not all at midnight").isLessThan(30);
    assertThat(PurgeSchedule.cron("team-food", "where2eat")).isEqualTo(PurgeSchedule.cron("team-food", "where2eat"));
    assertThat(PurgeSchedule.cron("team-food", "where2eat")).matches("^([0-9]|[1-5][0-9]) ([0-9]|1[0-9]|2[0-3]) \\* \\* \\*$");
  }

  @Test
  void cronJobNeverOverlapsGivesUpAndRunsLockedDown() {
    MicroApp app = app("team-food", "where2eat", http("/internal/purge"), "14d");
    CronJob cj = PurgeJob.cronJob(app, AppPlan.resolve(app, POLICY));
    var spec = cj.getSpec();
    assertThat(spec.getConcurrencyPolicy()).isEqualTo("Forbid");
    assertThat(spec.getStartingDeadlineSeconds()).isPositive();
    assertThat(spec.getSuccessfulJobsHistoryLimit()).isEqualTo(3);
    assertThat(spec.getFailedJobsHistoryLimit()).isEqualTo(3);
    assertThat(spec.getTimeZone()).isEqualTo("Etc/UTC");
    assertThat(spec.getJobTemplate().getSpec().getActiveDeadlineSeconds()).isPositive();
    assertThat(spec.getJobTemplate().getSpec().getBackoffLimit()).isEqualTo(2);
    PodSpec pod = spec.getJobTemplate().getSpec().getTemplate().getSpec();
    assertThat(pod.getServiceAccountName()).as("the app's own, without token or bindings").isEqualTo("where2eat");
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    Container c = pod.getContainers().get(0);
    assertThat(c.getArgs()).containsExactly("purge", "--config", "/etc/microapp-purge/purge.json");
    assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(spec.getJobTemplate().getSpec().getTemplate().getMetadata().getLabels())
        .containsEntry("safedefaults.io/purge-for", "where2eat")
        .doesNotContainKey("safedefaults.io/app");
    assertThat(PurgeJob.configJson(app, AppPlan.resolve(app, POLICY)))
        .contains("\"ttlDays\" : 14").contains("\"url\" : \"http://where2eat.team-food.svc:80/internal/purge\"");
  }

  @Test
  void postgresJobSeesOnlyItsConnectionValue() {
    PurgeSpec p = new PurgeSpec();
    PurgeSpec.Postgres pg = new PurgeSpec.Postgres();
    pg.setConnection("DATABASE_URL");
    pg.setTable("app.events");
    pg.setColumn("created_at");
    p.setPostgres(pg);
    MicroApp app = app("ns", "api", p, "30d");
    app.getSpec().setSecrets(new SecretsSpec());
    app.getSpec().getSecrets().getSealed().put("DATABASE_URL", "v1:app:AQAAAAEA");
    app.getSpec().getSecrets().getSealed().put("STRIPE_KEY", "v1:app:AQAAAAEA");
    CronJob cj = PurgeJob.cronJob(app, AppPlan.resolve(app, POLICY));
    var db = cj.getSpec().getJobTemplate().getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getName().equals("db")).findFirst().orElseThrow();
    assertThat(db.getSecret().getItems()).extracting(i -> i.getKey()).containsExactly("DATABASE_URL");
    assertThat(PurgeJob.configJson(app, AppPlan.resolve(app, POLICY)))
        .contains("\"table\" : \"app.events\"").contains("\"batchSize\" : 1000");
  }

  @Test
  void noTargetIsAProblemAndAnOverrideTurnsThePurgeOff() {
    MicroApp none = app("ns", "notes", null, "30d");
    AppPlan plan = AppPlan.resolve(none, POLICY);
    assertThat(plan.retention().scheduled()).isFalse();
    assertThat(plan.problems()).extracting(Problem::reason).containsExactly("NoPurgeTarget");

    none.getSpec().getOverrides().add(new DefaultOverride(Setting.RETENTION, "stateless calculator, stores nothing"));
    AppPlan off = AppPlan.resolve(none, POLICY);
    assertThat(off.problems()).isEmpty();
    assertThat(off.retention().relaxed()).isTrue();
    assertThat(off.retention().scheduled()).isFalse();
  }

  @Test
  void retentionLongerThanPolicyIsCapped() {
    MicroApp app = app("ns", "notes", http("/purge"), "900d");
    AppPlan plan = AppPlan.resolve(app, POLICY);
    assertThat(plan.retention().ttlDays()).isEqualTo(365);
    assertThat(plan.problems()).extracting(Problem::message)
        .containsExactly("spec.retention.ttl 900d is longer than the maximum 365d of the cluster policy (operator flags); data older than 365d is"
            + " purged until you shorten it");
  }

  @Test
  void postgresConnectionMustBeASealedValue() {
    PurgeSpec p = new PurgeSpec();
    PurgeSpec.Postgres pg = new PurgeSpec.Postgres();
    pg.setConnection("DATABASE_URL");
    pg.setTable("events");
    pg.setColumn("created_at");
    p.setPostgres(pg);
    AppPlan plan = AppPlan.resolve(app("ns", "api", p, "30d"), POLICY);
    assertThat(plan.retention().scheduled()).isFalse();
    assertThat(plan.problems()).extracting(Problem::reason).containsExactly("PurgeConnectionMissing");
  }
}
