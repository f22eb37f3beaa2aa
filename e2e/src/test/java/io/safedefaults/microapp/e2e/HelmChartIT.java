package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The Helm chart end to end (e2e/helm/helm-e2e.sh on a control plane of its own): install, the
 * operator running under exactly the chart's RBAC, denials, upgrade, uninstall. The script prints
 * one PASS/FAIL line per check; this test fails on any FAIL and shows them.
 */
@Order(10)
class HelmChartIT {

  @Test
  void chartInstallsAndTheOperatorWorksUnderItsOwnRbac() throws IOException, InterruptedException {
    Path root = ControlPlane.findRepoRoot();
    Path log = ControlPlane.targetDir(root).resolve("helm-e2e.log");
    ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("e2e/helm/helm-e2e.sh").toString())
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
      throw new AssertionError("helm-e2e.sh did not finish in 15 minutes; see " + log);
    }
    List<String> lines = Files.readAllLines(log);
    List<String> failures = lines.stream().filter(l -> l.startsWith("FAIL ")).toList();
    long passes = lines.stream().filter(l -> l.startsWith("PASS ")).count();
    assertThat(failures).as("failed chart checks (full output in %s)", log).isEmpty();
    assertThat(p.exitValue()).as("helm-e2e.sh exit code; tail of %s:%n%s", log,
        String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()))).isZero();
    assertThat(passes).as("checks that ran").isGreaterThan(100);
  }
}
