package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.safedefaults.microapp.api.MicroApp;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The daily purge on the real control plane: the CronJob exists with a restricted pod template,
 * `kubectl create job --from=cronjob/...` makes the controller manager create the Job and its pod
 * (admitted by Pod Security "restricted"), and status follows the Job's outcome. No kubelet runs:
 * the test finishes the pods the way one would, and the Job controller does the rest.
 */
@Order(6)
class RetentionIT extends E2ETestBase {
  static String ns;

  @BeforeAll
  static void app() {
    ns = newNamespace("retention");
    applyExampleIn("where2eat.yaml", ns).orFail();
  }

  @Test
  void purgeRunsLockedDownAndStatusFollowsItsJobs() {
    CronJob cj = await().atMost(Duration.ofSeconds(60))
        .until(() -> client().batch().v1().cronjobs().inNamespace(ns).withName("where2eat-purge").get(), c -> c != null);
    assertThat(cj.getSpec().getConcurrencyPolicy()).isEqualTo("Forbid");
    assertThat(cj.getSpec().getSchedule()).matches("^\\d{1,2} \\d{1,2} \\* \\* \\*$");
    PodSpec pod = cj.getSpec().getJobTemplate().getSpec().getTemplate().getSpec();
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
    assertThat(pod.getServiceAccountName()).isEqualTo("where2eat-purge");
    assertThat(client().serviceAccounts().inNamespace(ns).withName("where2eat-purge").get()
        .getAutomountServiceAccountToken()).isFalse();

    // A run now, as an operator on call would start one.
    kubectl().run("create", "job", "--from=cronjob/where2eat-purge", "purge-now", "-n", ns).orFail();
    await("the Job controller creates the purge pod (Pod Security admitted it)").atMost(Duration.ofSeconds(60))
        .until(() -> !client().pods().inNamespace(ns).withLabel("job-name", "purge-now").list().getItems().isEmpty());
    // What the purge runner writes to its termination log (sidecar/.../purge/PurgeOutcome).
    String report = "{\"event\":\"purge.completed\",\"target\":\"http\",\"cutoff\":\"2026-10-30T09:53:00Z\","
        + "\"deleted\":4711,\"durationMs\":812,\"exitCode\":0}";
    await().atMost(Duration.ofSeconds(30)).until(() -> e2e.fakeKubelet().finishJobPods(ns, "purge-now", true, report) > 0);
    MicroApp ok = await().atMost(Duration.ofSeconds(60)).until(() -> microApp(ns, "where2eat"),
        a -> a.getStatus() != null && a.getStatus().getRetention() != null
            && "Succeeded".equals(a.getStatus().getRetention().lastJobOutcome()));
    assertThat(ok.getStatus().getRetention().lastJob()).isEqualTo("purge-now");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      var r = microApp(ns, "where2eat").getStatus().getRetention();
      assertThat(r.lastSuccessfulPurge()).as("set by the CronJob controller, then read by the operator").isNotNull();
      assertThat(r.lastDeleted()).isEqualTo(4711L);
      assertThat(r.lastCutoff()).isEqualTo("2026-10-30T09:53:00Z");
    });
    assertThat(conditionStatus(ok, "RetentionScheduled")).isEqualTo("True");

    // A failing run: every attempt fails until the Job gives up (backoffLimit 2).
    kubectl().run("create", "job", "--from=cronjob/where2eat-purge", "purge-fails", "-n", ns).orFail();
    await("the purge Job fails after its retries").atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofSeconds(2))
        .until(() -> {
          e2e.fakeKubelet().finishJobPods(ns, "purge-fails", false,
              "{\"event\":\"purge.failed\",\"deleted\":0,\"exitCode\":1,\"error\":\"the app answered 500 to the purge request\"}");
          Job j = client().batch().v1().jobs().inNamespace(ns).withName("purge-fails").get();
          return j.getStatus() != null && j.getStatus().getConditions() != null
              && j.getStatus().getConditions().stream().anyMatch(c -> "Failed".equals(c.getType()));
        });
    MicroApp failed = await().atMost(Duration.ofSeconds(60)).until(() -> microApp(ns, "where2eat"),
        a -> "False".equals(conditionStatus(a, "RetentionScheduled")));
    assertThat(condition(failed, "RetentionScheduled").orElseThrow().getReason()).isEqualTo("PurgeFailed");
    assertThat(condition(failed, "RetentionScheduled").orElseThrow().getMessage())
        .contains("purge-fails").contains("the app answered 500").contains("old data was not deleted");
    assertThat(failed.getStatus().getRetention().lastError()).isEqualTo("the app answered 500 to the purge request");
    assertThat(failed.getStatus().getRetention().lastJobOutcome()).isEqualTo("Failed");

    // Turning retention off needs a justified override; the CronJob goes.
    String off = withoutNamespace(readExample("where2eat.yaml")) + """
          overrides:
            - setting: retention
              justification: "data lives in the team's warehouse, which has its own retention"
        """;
    applyYaml(off, ns).orFail();
    await().atMost(Duration.ofSeconds(60))
        .until(() -> client().batch().v1().cronjobs().inNamespace(ns).withName("where2eat-purge").get() == null);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      MicroApp relaxed = microApp(ns, "where2eat");
      assertThat(conditionStatus(relaxed, "DefaultsRelaxed")).isEqualTo("True");
      assertThat(condition(relaxed, "RetentionScheduled").orElseThrow().getReason()).isEqualTo("PurgeOffByOverride");
      assertThat(relaxed.getStatus().getRetention()).isNull();
    });
  }
}
