package io.safedefaults.microapp.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.kubernetes.client.utils.YamlDumpSettingsBuilder;
import io.safedefaults.microapp.ManifestRenderer;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Prints, without a cluster, every manifest the operator would create for the MicroApps in a file. */
@Command(name = "render", mixinStandardHelpOptions = true,
    description = "Print the manifests the operator would create for the MicroApps in a file (multi-document YAML).")
public final class RenderCommand implements Callable<Integer> {
  /**
   * YAML as kubectl prints it: strings unquoted unless plain text would read as another type
   * ("true", "8080") or not parse at all.
   */
  private static final KubernetesSerialization YAML = new KubernetesSerialization(new ObjectMapper(), true,
      new YamlDumpSettingsBuilder().setMinimizeQuotes(true).build());

  @Mixin PolicyOptions policy;

  @Option(names = {"-f", "--file"}, required = true, description = "MicroApp manifest (YAML, may hold several documents).")
  Path file;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    OperatorConfig config = policy.toConfig();
    List<MicroApp> apps = read(file);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    for (MicroApp app : apps) {
      for (Problem p : AppPlan.resolve(app, config).problems()) {
        err.println("warning: " + app.getMetadata().getNamespace() + "/" + app.getMetadata().getName() + ": " + p.message());
      }
      for (HasMetadata m : ManifestRenderer.render(app, config)) {
        out.print(YAML.asYaml(m));
      }
    }
    out.flush();
    return 0;
  }

  /** Reads MicroApp documents strictly: an unknown field is an error naming it, as kubectl would. */
  static List<MicroApp> read(Path file) {
    List<MicroApp> apps = ManifestFiles.read(file);
    if (apps.isEmpty()) {
      throw new IllegalArgumentException(file + ": no MicroApp document found");
    }
    return apps;
  }
}
