package io.safedefaults.microapp.retention;

import static io.safedefaults.microapp.status.CheckResult.Item.MINIMAL_RETENTION;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;
import io.safedefaults.microapp.status.PurgeRuns;
import java.util.Optional;

/** Checklist 8 judged from the observed CronJob and its most recent Job. */
public final class RetentionCheck {
  private RetentionCheck() {}

  public static CheckResult check(AppPlan plan, Observed o) {
    AppPlan.Retention r = plan.retention();
    if (r.relaxed()) {
      return CheckResult.relaxed(MINIMAL_RETENTION, "PurgeOffByOverride",
          "no scheduled purge: " + plan.relaxed().get(Setting.RETENTION));
    }
    Optional<Problem> noTarget = plan.problems(Problem.Area.RETENTION).stream()
        .filter(p -> !p.reason().equals("RetentionTooLong")).findFirst();
    if (noTarget.isPresent()) {
      return CheckResult.failed(MINIMAL_RETENTION, noTarget.get().reason(), noTarget.get().message());
    }
    if (o.purgeCronJob() == null) {
      return CheckResult.failed(MINIMAL_RETENTION, "PurgePending", "the purge CronJob does not (yet) exist");
    }
    if ("Failed".equals(PurgeRuns.outcome(o.lastPurgeJob()))) {
      String why = PurgeRuns.report(o.lastPurgeJob(), o.purgePods()).map(n -> n.path("error").asText(null))
          .or(() -> PurgeRuns.condition(o.lastPurgeJob(), "Failed").map(c -> c.getReason() + ": " + c.getMessage()))
          .orElse("failed");
      return CheckResult.failed(MINIMAL_RETENTION, "PurgeFailed", "the last purge, Job "
          + o.lastPurgeJob().getMetadata().getName() + ", failed (" + why + "); old data was not deleted");
    }
    return CheckResult.passed(MINIMAL_RETENTION, "PurgeScheduled", "data older than " + r.ttlDays()
        + "d is purged daily at " + hhmm(r.schedule()) + " UTC (" + target(plan) + ")");
  }

  private static String target(AppPlan plan) {
    var p = plan.retention().purge();
    if (p.getHttp() != null) {
      return "POST " + p.getHttp().getPath();
    }
    if (p.getPostgres() != null) {
      return "rows of " + p.getPostgres().getTable() + " by " + p.getPostgres().getColumn();
    }
    return "files in " + p.getVolume().getClaimName() + (p.getVolume().getPath() == null ? "" : p.getVolume().getPath());
  }

  private static String hhmm(String cron) {
    String[] f = cron.split(" ");
    return String.format("%02d:%02d", Integer.parseInt(f[1]), Integer.parseInt(f[0]));
  }
}
