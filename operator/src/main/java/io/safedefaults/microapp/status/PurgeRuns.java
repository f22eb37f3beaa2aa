package io.safedefaults.microapp.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.safedefaults.microapp.api.MicroAppStatus.RetentionStatus;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * What the app's purge runs did, as observed (checklist 8): status.retention, and the outcome and
 * summary of the last run that retention.RetentionCheck judges.
 */
public final class PurgeRuns {
  private static final ObjectMapper JSON = new ObjectMapper();

  private PurgeRuns() {}

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
  public static Optional<JsonNode> report(Job job, List<Pod> pods) {
    return pods.stream()
        .filter(p -> job.getMetadata().getName().equals(p.getMetadata().getLabels().get("job-name")))
        .filter(p -> p.getStatus() != null && p.getStatus().getContainerStatuses() != null)
        .flatMap(p -> p.getStatus().getContainerStatuses().stream()
            .filter(s -> Names.PURGE_CONTAINER.equals(s.getName()) && s.getState() != null
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

  public static String outcome(Job job) {
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

  public static Optional<JobCondition> condition(Job job, String type) {
    if (job == null || job.getStatus() == null || job.getStatus().getConditions() == null) {
      return Optional.empty();
    }
    return job.getStatus().getConditions().stream()
        .filter(c -> type.equals(c.getType()) && "True".equals(c.getStatus())).findFirst();
  }
}
