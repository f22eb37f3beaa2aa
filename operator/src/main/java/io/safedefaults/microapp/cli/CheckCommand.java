package io.safedefaults.microapp.cli;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.safedefaults.microapp.OnceApplied;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The checklist each MicroApp would report once applied, without a cluster: for app authors' CI
 * before {@code kubectl apply}. The same plan, rendered children, Checklist and Conditions.status
 * as the operator (OnceApplied), so it cannot pass an app the operator would fail.
 */
@Command(name = "check", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Print, per MicroApp, the checklist the operator would report once the app is applied, and why each "
            + "failing item fails. Works offline: no cluster, no credentials.",
        "Children are taken as applied and the pod as started; sealed values are checked for form only (they "
            + "open only in the cluster, with its private key). Admission rules of the CRD are not run: "
            + "'kubectl apply --dry-run=server' does that.",
        "Pass the cluster's policy with the same flags (or MICROAPP_* variables) as 'run'."},
    footerHeading = "%nExit status:%n",
    footer = {
        "  0  every app would be Ready; an app without spec.host is Ready but not",
        "     exposed, and that is no failure",
        "  1  some app would not be Ready: a checklist item fails, the spec has a",
        "     problem the operator reports, or an app with spec.host would get no",
        "     Ingress",
        "  2  a file, a document or a flag cannot be read; nothing was checked"})
public final class CheckCommand implements Callable<Integer> {
  static final String HEADER = "Checklist each MicroApp would report once applied (children applied, pod started;"
      + " sealed values checked for form only):";

  @Mixin PolicyOptions policy;

  @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE|DIR",
      description = "MicroApp manifest, or a directory of *.yaml, *.yml and *.json manifests; repeat for several."
          + " Documents of other kinds are skipped.")
  List<Path> files;

  @Option(names = {"-R", "--recursive"}, description = "Also read the subdirectories of a directory given with -f.")
  boolean recursive;

  @Option(names = {"-o", "--output"}, defaultValue = "text", paramLabel = "text|json",
      description = "text (default) for people, json for machines.")
  Format output;

  @Option(names = "--policy", paramLabel = "FILE",
      description = "MicroAppPolicy manifests (the platform team's); each app is checked against the policies that"
          + " select its namespace, merged with the flags as the operator does. Repeat for several files.")
  List<Path> policyFiles;

  @Option(names = "--namespace-labels", paramLabel = "NAMESPACE:KEY=VALUE", split = ",",
      description = "Labels of an app namespace, which decide the policies that select it, e.g."
          + " team-food:team=food. A namespace without labels given is selected only by policies that select"
          + " every namespace.")
  List<String> namespaceLabels;

  @Spec CommandSpec spec;

  enum Format { text, json }

  /** Set once per run from the flags; see configFor. */
  private OperatorConfig flags;

  private List<io.safedefaults.microapp.api.MicroAppPolicy> policies = List.of();
  private final java.util.Map<String, java.util.Map<String, String>> labels = new java.util.HashMap<>();

  @Override
  public Integer call() throws Exception {
    flags = policy.toConfig();
    policies = policyFiles == null ? List.of()
        : policyFiles.stream().flatMap(f -> ManifestFiles.policies(f).stream()).toList();
    for (String entry : namespaceLabels == null ? List.<String>of() : namespaceLabels) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("^([a-z0-9-]{1,63}):([A-Za-z0-9._/-]{1,316})=([A-Za-z0-9._-]{0,63})$")
          .matcher(entry.trim());
      if (!m.matches()) {
        throw new IllegalArgumentException("--namespace-labels: '" + entry + "' is not NAMESPACE:KEY=VALUE such as"
            + " team-food:team=food");
      }
      labels.computeIfAbsent(m.group(1), k -> new java.util.HashMap<>()).put(m.group(2), m.group(3));
    }
    List<AppReport> reports = ManifestFiles.read(files, recursive).stream()
        .map(s -> report(s.file(), OnceApplied.of(s.app(), configFor(s.app()))))
        .toList();
    boolean ok = reports.stream().allMatch(r -> r.ready().status());
    PrintWriter out = spec.commandLine().getOut();
    if (output == Format.json) {
      out.println(JSON.writeValueAsString(new Report(ok, reports)));
    } else {
      printText(out, reports);
    }
    out.flush();
    return ok ? 0 : 1;
  }

  /**
   * The policy of the app's namespace, as the operator's PolicyWatch computes it: the flags merged
   * with the MicroAppPolicies (from --policy) whose selector matches the namespace's labels.
   */
  OperatorConfig configFor(MicroApp app) {
    var ns = labels.getOrDefault(app.getMetadata().getNamespace(), java.util.Map.of());
    return io.safedefaults.microapp.policy.PolicyMerge.effective(flags,
        io.safedefaults.microapp.policy.PolicyMerge.selecting(policies, ns));
  }

  // The JSON shape is a contract for CI scripts: fields are added, never renamed or removed.
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @JsonPropertyOrder({"ok", "apps"})
  record Report(boolean ok, List<AppReport> apps) {}

  @JsonPropertyOrder({"namespace", "name", "file", "host", "exposed", "url", "ready", "verdict", "checklist",
      "problems"})
  record AppReport(String namespace, String name, String file, String host, boolean exposed, String url,
      Ready ready, String verdict, ChecklistReport checklist, List<ProblemReport> problems) {}

  @JsonPropertyOrder({"status", "reason", "message"})
  record Ready(boolean status, String reason, String message) {}

  @JsonPropertyOrder({"passed", "relaxed", "failed", "total", "items"})
  record ChecklistReport(int passed, int relaxed, int failed, int total, List<Item> items) {}

  @JsonPropertyOrder({"number", "key", "condition", "outcome", "reason", "message"})
  record Item(int number, String key, String condition, String outcome, String reason, String message) {}

  @JsonPropertyOrder({"area", "reason", "message", "blocksExposure"})
  record ProblemReport(String area, String reason, String message, boolean blocksExposure) {}

  static AppReport report(Path file, OnceApplied a) {
    List<Item> items = a.checks().stream().map(c -> new Item(c.item().number, c.item().key, c.item().condition,
        outcome(c.outcome()), c.reason(), c.message())).toList();
    StatusCondition ready = a.ready();
    return new AppReport(a.plan().namespace(), a.plan().name(), file.toString(), a.plan().host(), a.url().isPresent(),
        a.url().orElse(null), new Ready(a.isReady(), ready.getReason(), ready.getMessage()), verdict(a),
        new ChecklistReport(count(items, "PASS"), count(items, "RELAXED"), count(items, "FAIL"), items.size(), items),
        a.plan().problems().stream()
            .map(p -> new ProblemReport(p.area().name(), p.reason(), p.message(), p.blocksExposure())).toList());
  }

  private static int count(List<Item> items, String outcome) {
    return (int) items.stream().filter(i -> i.outcome().equals(outcome)).count();
  }

  static String outcome(CheckResult.Outcome o) {
    return switch (o) {
      case PASSED -> "PASS";
      case RELAXED -> "RELAXED";
      case FAILED -> "FAIL";
    };
  }

  /** One line: exposed or not and, when it would not be Ready, the operator's own first reason. */
  static String verdict(OnceApplied a) {
    StatusCondition ready = a.ready();
    String notReady = a.isReady() ? "" : ready.getReason() + ": " + ready.getMessage();
    if (a.url().isPresent()) {
      return "would be exposed at " + a.url().get() + (a.isReady() ? "" : ", but not Ready: " + notReady);
    }
    if (a.plan().host() == null) {
      return "not exposed: no spec.host, reachable only inside the cluster" + (a.isReady() ? "" : "; not Ready: " + notReady);
    }
    Optional<Problem> blocking = a.blockingProblem();
    return "would NOT be exposed: " + blocking.map(p -> p.reason() + ": " + p.message()).orElse(notReady);
  }

  private static void printText(PrintWriter out, List<AppReport> reports) {
    out.println(HEADER);
    for (AppReport r : reports) {
      out.println();
      out.println(r.namespace() + "/" + r.name() + "  (" + r.file() + ")");
      for (Item i : r.checklist().items()) {
        out.printf("  %2d %-17s %-8s %s: %s%n", i.number(), i.key(), i.outcome(), i.reason(), i.message());
      }
      // Problems that no failing item already shows (e.g. a value capped to the cluster maximum).
      List<String> shown = r.checklist().items().stream().filter(i -> i.outcome().equals("FAIL"))
          .map(Item::message).toList();
      r.problems().stream().filter(p -> shown.stream().noneMatch(m -> m.contains(p.message())))
          .forEach(p -> out.printf("     %-17s %-8s %s: %s%n", "problem", "", p.reason(), p.message()));
      out.println("  " + r.checklist().passed() + " passed, " + r.checklist().relaxed() + " relaxed, "
          + r.checklist().failed() + " failed of " + r.checklist().total());
      out.println("  => " + r.verdict());
    }
    out.println();
    List<String> notReady = reports.stream().filter(r -> !r.ready().status())
        .map(r -> r.namespace() + "/" + r.name()).toList();
    out.println(notReady.isEmpty()
        ? "OK: all " + reports.size() + " app(s) would be Ready"
        : "FAILED: " + notReady.size() + " of " + reports.size() + " app(s) would not be Ready: "
            + String.join(", ", notReady));
  }
}
