package io.safedefaults.microapp.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.safedefaults.microapp.ManifestRenderer;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
  private static final ObjectMapper STRICT = new YAMLMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

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
        out.print(Serialization.asYaml(m));
      }
    }
    out.flush();
    return 0;
  }

  /** Reads MicroApp documents strictly: an unknown field is an error naming it, as kubectl would. */
  static List<MicroApp> read(Path file) throws IOException {
    List<MicroApp> apps = new ArrayList<>();
    String text = Files.readString(file);
    var parser = new YAMLFactory().createParser(text);
    List<JsonNode> docs = STRICT.readValues(parser, JsonNode.class).readAll();
    for (JsonNode doc : docs) {
      if (doc == null || doc.isNull() || doc.isMissingNode()) {
        continue;
      }
      if (!"MicroApp".equals(doc.path("kind").asText())) {
        continue;
      }
      try {
        MicroApp app = STRICT.treeToValue(doc, MicroApp.class);
        if (app.getMetadata() == null || app.getMetadata().getName() == null) {
          throw new IllegalArgumentException(file + ": metadata.name is required");
        }
        if (app.getSpec() == null || app.getSpec().getImage() == null || app.getSpec().getImage().isBlank()) {
          throw new IllegalArgumentException(file + ": spec.image is required, e.g. ghcr.io/acme/app:1.0.0");
        }
        if (app.getMetadata().getNamespace() == null) {
          app.getMetadata().setNamespace("default");
        }
        apps.add(app);
      } catch (UnrecognizedPropertyException e) {
        throw new IllegalArgumentException(file + ": unknown field '" + e.getPropertyName() + "' at "
            + e.getPathReference().replaceAll("io\\.safedefaults\\.microapp\\.api\\.", "")
            + "; check the spelling against 'kubectl explain microapp.spec'");
      }
    }
    if (apps.isEmpty()) {
      throw new IllegalArgumentException(file + ": no MicroApp document found");
    }
    return apps;
  }
}
