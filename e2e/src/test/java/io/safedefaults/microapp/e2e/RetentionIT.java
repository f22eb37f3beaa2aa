package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.safedefaults.microapp.api.MicroApp;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The daily purge on the real node: the CronJob exists with a restricted pod template; a run
 * started as someone on call would ({@code kubectl create job --from=cronjob/...}) is a pod of the
 * sidecar image's purge runner that calls the app through its Service and sidecar with the job's
 * token; the real app deletes the rows older than the retention cutoff and says how many; status
 * shows that count. A run against a path the app does not serve fails and status says so.
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
  void purgeRunsLockedDownDeletesOldRowsInTheAppAndStatusFollowsItsJobs() {
    CronJob cj = await().atMost(Duration.ofSeconds(60))
        .until(() -> client().batch().v1().cronjobs().inNamespace(ns).withName("where2eat-purge").get(), c -> c != null);
    assertThat(cj.getSpec().getConcurrencyPolicy()).isEqualTo("Forbid");
    assertThat(cj.getSpec().getSchedule()).matches("^\\d{1,2} \\d{1,2} \\* \\* \\*$");
    PodSpec pod = cj.getSpec().getJobTemplate().getSpec().getTemplate().getSpec();
    assertThat(pod.getAutomountServiceAccountToken()).isFalse();
    // The app's own ServiceAccount: no token and no bindings, so nothing a purge pod could misuse.
    assertThat(pod.getServiceAccountName()).isEqualTo("where2eat");
    assertThat(client().serviceAccounts().inNamespace(ns).withName("where2eat").get()
        .getAutomountServiceAccountToken()).isFalse();

    // Rows in the running app: two older than the 30-day retention, one recent.
    awaitReady(ns, "where2eat", ExamplesIT.READY);
    Pod app = runningPod(ns, "where2eat");
    exec(app, "app", "/where2eat", "seed", "--user", "bob-sub", "--name", "Old Pho", "--age", "40d");
    exec(app, "app", "/where2eat", "seed", "--user", "ann-sub", "--name", "Old Tacos", "--age", "31d");
    exec(app, "app", "/where2eat", "seed", "--user", "ann-sub", "--name", "New Ramen", "--age", "2d");

    // A run now: the Job's pod runs on the node and goes through the sidecar to the app.
    kubectl().run("create", "job", "--from=cronjob/where2eat-purge", "purge-now", "-n", ns).orFail();
    awaitJob("purge-now", "Complete");
    assertThat(rowsLeft(app)).as("rows the app keeps after the purge").isEqualTo(1);
    MicroApp ok = await().atMost(Duration.ofSeconds(60)).until(() -> microApp(ns, "where2eat"),
        a -> a.getStatus() != null && a.getStatus().getRetention() != null
            && "Succeeded".equals(a.getStatus().getRetention().lastJobOutcome()));
    assertThat(ok.getStatus().getRetention().lastJob()).isEqualTo("purge-now");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      var r = microApp(ns, "where2eat").getStatus().getRetention();
      assertThat(r.lastSuccessfulPurge()).as("set by the CronJob controller, then read by the operator").isNotNull();
      assertThat(r.lastDeleted()).as("the count the app answered, from the runner's termination message").isEqualTo(2L);
      assertThat(Instant.parse(r.lastCutoff())).as("cutoff = now - retention.ttl (30d)")
          .isBetween(Instant.now().minus(Duration.ofDays(30)).minus(Duration.ofMinutes(10)),
              Instant.now().minus(Duration.ofDays(30)));
    });
    assertThat(conditionStatus(ok, "RetentionScheduled")).isEqualTo("True");

    // A purge path the app does not serve: the app answers 404, every attempt fails until the Job gives up.
    String wrongPath = inNamespace(readExample("where2eat.yaml"), ns).replace("path: /internal/purge", "path: /internal/no-such-route");
    assertThat(wrongPath).contains("/internal/no-such-route");
    applyYaml(wrongPath, ns).orFail();
    awaitReady(ns, "where2eat", ExamplesIT.READY); // the sidecar's purge route changed: the pod rolled
    await("the CronJob's purge configuration names the new path").atMost(Duration.ofSeconds(60)).until(() ->
        client().configMaps().inNamespace(ns).list().getItems().stream()
            .anyMatch(cm -> cm.getData() != null && cm.getData().values().stream().anyMatch(v -> v.contains("/internal/no-such-route"))));
    kubectl().run("create", "job", "--from=cronjob/where2eat-purge", "purge-fails", "-n", ns).orFail();
    awaitJob("purge-fails", "Failed");
    MicroApp failed = await().atMost(Duration.ofSeconds(60)).until(() -> microApp(ns, "where2eat"),
        a -> "False".equals(conditionStatus(a, "RetentionScheduled")));
    assertThat(condition(failed, "RetentionScheduled").orElseThrow().getReason()).isEqualTo("PurgeFailed");
    assertThat(condition(failed, "RetentionScheduled").orElseThrow().getMessage())
        .contains("purge-fails").contains("404").contains("old data was not deleted");
    assertThat(failed.getStatus().getRetention().lastError()).contains("404");
    assertThat(failed.getStatus().getRetention().lastJobOutcome()).isEqualTo("Failed");

    // Turning retention off needs a justified override; the CronJob goes.
    String off = inNamespace(readExample("where2eat.yaml"), ns) + """
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

  /** Waits for the Job's Complete or Failed condition (its pods really run on the node). */
  static void awaitJob(String job, String condition) {
    try {
      await("Job " + job + " " + condition).atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofSeconds(2)).until(() -> {
        Job j = client().batch().v1().jobs().inNamespace(ns).withName(job).get();
        return j != null && j.getStatus() != null && j.getStatus().getConditions() != null
            && j.getStatus().getConditions().stream().anyMatch(c -> condition.equals(c.getType()) && "True".equals(c.getStatus()));
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("Job " + job + " not " + condition + "; pods: " + podStates(ns) + "\nlogs: "
          + kubectl().run("-n", ns, "logs", "job/" + job, "--tail=20").stdout(), e);
    }
  }

  static int rowsLeft(Pod app) {
    String count = exec(app, "app", "/where2eat", "count");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"total\"\\s*:\\s*(\\d+)").matcher(count);
    assertThat(m.find()).as("count output: %s", count).isTrue();
    return Integer.parseInt(m.group(1));
  }
}
