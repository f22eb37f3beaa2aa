package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The Helm chart end to end, each script on a control plane of its own. helm-e2e.sh: install, the
 * operator running under exactly the chart's RBAC, denials, upgrade, uninstall. The admission-rule
 * scripts: the chart's httproute-shape/edgepolicy-shape and approval rules on a real API server,
 * impersonating the operator and people in and out of the approver groups. Each script prints one
 * PASS/FAIL line per check; a test fails on any FAIL and shows them.
 */
@Order(10)
class HelmChartIT {

  @Test
  void chartInstallsAndTheOperatorWorksUnderItsOwnRbac() throws IOException, InterruptedException {
    run("helm-e2e.sh", 100);
  }

  @Test
  void theRouteAndEdgePolicyAdmissionRulesAdmitTheOperatorsShapesOnly() throws IOException, InterruptedException {
    run("httproute-policy-check.sh", 15);
  }

  @Test
  void onlyAnApproverMayApproveAndOnlyTheCurrentGenerationInTheirOwnName() throws IOException, InterruptedException {
    run("approval-policy-check.sh", 10);
  }

  private static void run(String script, int atLeast) throws IOException, InterruptedException {
    Path root = ControlPlane.findRepoRoot();
    Path log = ControlPlane.targetDir(root).resolve(script.replace(".sh", ".log"));
    ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("e2e/helm/" + script).toString())
        .directory(root.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().put("HELM_E2E_NAME", "helm-e2e-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3)));
    pb.environment().put("KUBE_API_TEST_DIR", Env.kubeApiTestDir());
    pb.environment().put("CONTROL_PLANE_STATE_DIR", ControlPlane.stateDir().toString());
    Process p = pb.start();
    p.getOutputStream().close();
    if (!p.waitFor(15, TimeUnit.MINUTES)) {
      p.destroy();
      p.waitFor(30, TimeUnit.SECONDS);
      throw new AssertionError(script + " did not finish in 15 minutes; see " + log);
    }
    List<String> lines = Files.readAllLines(log);
    List<String> failures = lines.stream().filter(l -> l.startsWith("FAIL ")).toList();
    long passes = lines.stream().filter(l -> l.startsWith("PASS ")).count();
    assertThat(failures).as("failed checks of %s (full output in %s)", script, log).isEmpty();
    assertThat(p.exitValue()).as("%s exit code; tail of %s:%n%s", script, log,
        String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()))).isZero();
    assertThat(passes).as("checks of %s that ran", script).isGreaterThanOrEqualTo(atLeast);
  }
}
