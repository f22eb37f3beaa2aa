package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.javaoperatorsdk.operator.OperatorException;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.policy.OperatorConfig;
import org.junit.jupiter.api.Test;

/** What JOSDK does when its status patch after a reconcile fails. */
class ReconcileErrorsTest {
  final MicroAppReconciler reconciler = new MicroAppReconciler(OperatorConfig.builder().build(),
      new OperatorMetrics(new SimpleMeterRegistry()), () -> null);

  @Test
  void anAppDeletedWhileItWasReconciledIsNotRetried() {
    var gone = new KubernetesClientException(new StatusBuilder().withCode(404).withMessage("not found").build());
    for (Exception e : new Exception[] {gone, new OperatorException("status patch failed", gone)}) {
      var control = reconciler.updateErrorStatus(TestApps.where2eat("team-a"), null, e);
      assertThat(control.isNoRetry()).isTrue();
      assertThat(control.getResource()).isEmpty();
    }
  }

  @Test
  void otherFailuresAreRetried() {
    var refused = new KubernetesClientException(new StatusBuilder().withCode(500).withMessage("etcd timeout").build());
    var control = reconciler.updateErrorStatus(TestApps.where2eat("team-a"), null, refused);
    assertThat(control.isDefaultErrorProcessing()).isTrue();
    assertThat(control.isNoRetry()).isFalse();
  }
}
