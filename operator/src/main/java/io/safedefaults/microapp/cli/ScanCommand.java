package io.safedefaults.microapp.cli;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.scan.Finding;
import io.safedefaults.microapp.scan.LiveScan;
import io.safedefaults.microapp.scan.ScanTarget;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scan URL}: the deployed app checked from outside, anonymously, against the defaults (see
 * LiveScan), with the fix for each failure in plain language. Complements {@code check}, which
 * judges manifests before they are applied.
 */
@Command(name = "scan", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Check a deployed app from outside, as anyone on the internet sees it: TLS (TLS 1.2 or newer, a chain"
            + " leading to a trusted CA, the host's name), plain HTTP redirecting to HTTPS, HSTS and the other"
            + " security headers the sidecar sends, sign-in required, a second factor asked for on admin paths,"
            + " and optionally addresses that must refuse connections.",
        "Nobody signs in: every request is anonymous and no answer's body is read."},
    footerHeading = "%nExit status:%n",
    footer = {
        "  0  no check failed (warnings allowed)",
        "  1  some check failed; each failure says how to fix it",
        "  2  the URL, an option or the MicroApp given with --app cannot be used; nothing was scanned"})
public final class ScanCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "URL", description = "The app's address, e.g. https://where2eat.apps.example.com")
  String url;

  @Option(names = "--ca-file", paramLabel = "FILE",
      description = "PEM bundle of the CAs the app's certificate must lead to (default: the JDK's trust store).")
  Path caFile;

  @Option(names = "--admin-path", paramLabel = "PATTERN",
      description = "An admin path pattern as in spec.auth.adminPaths (e.g. /admin/**) that must ask for a second"
          + " factor; repeat for several.")
  List<String> adminPaths;

  @Option(names = "--app", paramLabel = "NAMESPACE/NAME",
      description = "Read the admin paths and the visibility from this MicroApp (current kubeconfig).")
  String app;

  @Option(names = "--connect-to", paramLabel = "ADDRESS",
      description = "Connect to this address instead of looking the host up (e.g. the ingress controller's address"
          + " before DNS points at it); the host still goes in TLS (SNI), the certificate check and Host.")
  String connectTo;

  @Option(names = "--http-port", paramLabel = "PORT", description = "Port for plain HTTP (default 80).")
  String httpPort;

  @Option(names = "--closed", paramLabel = "HOST:PORT",
      description = "An address that must refuse connections from here, e.g. the node's address with the app's"
          + " container port; repeat for several.")
  List<String> closed;

  @Option(names = "--timeout", paramLabel = "SECONDS", description = "Connect and read timeout per request (default 10).")
  String timeout;

  @Option(names = {"-o", "--output"}, defaultValue = "text", paramLabel = "text|json",
      description = "text (default) for people, json for machines.")
  Format output;

  @Spec CommandSpec spec;

  enum Format { text, json }

  // The JSON shape is a contract for CI scripts: fields are added, never renamed or removed.
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @JsonPropertyOrder({"url", "ok", "findings"})
  record Report(String url, boolean ok, List<Finding> findings) {}

  @Override
  public Integer call() throws Exception {
    List<String> paths = new ArrayList<>(adminPaths == null ? List.of() : adminPaths);
    boolean publicApp = false;
    if (app != null) {
      MicroApp m = microApp(app);
      if (m.getSpec().getAuth() != null && m.getSpec().getAuth().getAdminPaths() != null) {
        paths.addAll(m.getSpec().getAuth().getAdminPaths());
      }
      publicApp = m.getSpec().getVisibility() == Visibility.PUBLIC;
    }
    ScanTarget target = ScanTarget.parse(url, httpPort, connectTo, caFile, paths, publicApp, closed, timeout);
    List<Finding> findings = new LiveScan(target).run();
    boolean ok = !LiveScan.failed(findings);
    PrintWriter out = spec.commandLine().getOut();
    if (output == Format.json) {
      out.println(JSON.writeValueAsString(new Report(target.origin() + "/", ok, findings)));
    } else {
      out.println("Scan of " + target.origin() + "/" + (target.connectTo().equals(target.host()) ? ""
          : " (connecting to " + target.connectTo() + ")") + ", signed in as nobody:");
      for (Finding f : findings) {
        out.printf("%-4s  %-24s %s%n", f.outcome(), f.check(), f.detail());
        if (f.fix() != null && f.outcome() != Finding.Outcome.PASS) {
          out.printf("      %-24s Fix: %s%n", "", f.fix());
        }
      }
      long failed = findings.stream().filter(f -> f.outcome() == Finding.Outcome.FAIL).count();
      long warned = findings.stream().filter(f -> f.outcome() == Finding.Outcome.WARN).count();
      out.println(ok ? "No check failed" + (warned > 0 ? " (" + warned + " warning" + (warned > 1 ? "s" : "") + ")." : ".")
          : failed + " check" + (failed > 1 ? "s" : "") + " failed.");
    }
    out.flush();
    return ok ? 0 : 1;
  }

  private static MicroApp microApp(String ref) {
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)/([a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?)$").matcher(ref);
    if (!m.matches()) {
      throw new IllegalArgumentException("--app: '" + ref.replaceAll("\\p{Cntrl}", "?")
          + "' is not NAMESPACE/NAME such as team-food/where2eat");
    }
    // Fabric8 warns once about the v1alpha1 version on the log, which is stdout, where the report goes.
    if (org.slf4j.LoggerFactory.getLogger("io.fabric8.kubernetes.client.dsl.internal.VersionUsageUtils")
        instanceof ch.qos.logback.classic.Logger l) {
      l.setLevel(ch.qos.logback.classic.Level.ERROR);
    }
    try (KubernetesClient client = new KubernetesClientBuilder().build()) {
      MicroApp found = client.resources(MicroApp.class).inNamespace(m.group(1)).withName(m.group(3)).get();
      if (found == null || found.getSpec() == null) {
        throw new IllegalArgumentException("--app: no MicroApp " + ref + " in the cluster of the current kubeconfig");
      }
      return found;
    }
  }
}
