package io.safedefaults.microapp.retention;

import static io.safedefaults.microapp.status.CheckResult.Item.MINIMAL_RETENTION;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroAppStatus.RetentionStatus;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Observed;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** Checklist 8 judged from the observed CronJob and its most recent Job. */
public final class RetentionCheck {
  private static final ObjectMapper JSON = new ObjectMapper();
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
    if ("Failed".equals(outcome(o.lastPurgeJob()))) {
      String why = report(o.lastPurgeJob(), o.purgePods()).map(n -> n.path("error").asText(null))
          .or(() -> condition(o.lastPurgeJob(), "Failed").map(c -> c.getReason() + ": " + c.getMessage()))
          .orElse("failed");
      return CheckResult.failed(MINIMAL_RETENTION, "PurgeFailed", "the last purge, Job "
          + o.lastPurgeJob().getMetadata().getName() + ", failed (" + why + "); old data was not deleted");
    }
    return CheckResult.passed(MINIMAL_RETENTION, "PurgeScheduled", "data older than " + r.ttlDays()
        + "d is purged daily at " + hhmm(r.schedule()) + " UTC (" + target(plan) + ")");
  }

  public static RetentionStatus status(AppPlan plan, Observed o) {
    if (!plan.retention().scheduled()) {
      return null;
    }
    String lastSuccess = o.purgeCronJob() == null || o.purgeCronJob().getStatus() == null
        ? null : o.purgeCronJob().getStatus().getLastSuccessfulTime();
    Job job = o.lastPurgeJob();
    Optional<JsonNode> report = job == null ? Optional.empty() : report(job, o.purgePods());
    return new RetentionStatus(plan.retention().schedule(), plan.retention().ttlDays() + "d", lastSuccess,
        job == null ? null : job.getMetadata().getName(), outcome(job),
        report.map(r -> r.path("deleted")).filter(JsonNode::isIntegralNumber).map(JsonNode::asLong).orElse(null),
        report.map(r -> r.path("cutoff")).filter(JsonNode::isTextual).map(JsonNode::asText).orElse(null),
        report.map(r -> r.path("error")).filter(JsonNode::isTextual).map(JsonNode::asText).orElse(null));
  }

  /**
   * The purge runner's summary from the termination message of the Job's most recently finished
   * pod. Parsed strictly as JSON; anything else is ignored rather than shown.
   */
  static Optional<JsonNode> report(Job job, List<Pod> pods) {
    return pods.stream()
        .filter(p -> job.getMetadata().getName().equals(p.getMetadata().getLabels().get("job-name")))
        .filter(p -> p.getStatus() != null && p.getStatus().getContainerStatuses() != null)
        .flatMap(p -> p.getStatus().getContainerStatuses().stream()
            .filter(s -> PurgeJob.CONTAINER.equals(s.getName()) && s.getState() != null
                && s.getState().getTerminated() != null && s.getState().getTerminated().getMessage() != null)
            .map(s -> s.getState().getTerminated()))
        .max(Comparator.comparing(t -> t.getFinishedAt() == null ? "" : t.getFinishedAt()))
        .flatMap(t -> {
          try {
            JsonNode n = JSON.readTree(t.getMessage());
            return n != null && n.isObject() ? Optional.of(n) : Optional.empty();
          } catch (java.io.IOException e) {
            return Optional.empty();
          }
        });
  }

  static String outcome(Job job) {
    if (job == null) {
      return null;
    }
    if (condition(job, "Complete").isPresent()) {
      return "Succeeded";
    }
    if (condition(job, "Failed").isPresent()) {
      return "Failed";
    }
    return "Running";
  }

  private static Optional<JobCondition> condition(Job job, String type) {
    if (job == null || job.getStatus() == null || job.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return job.getStatus().getConditions().stream()
        .filter(c -> type.equals(c.getType()) && "True".equals(c.getStatus())).findFirst();
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
