package io.safedefaults.microapp.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.safedefaults.microapp.api.MicroApp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * MicroApp documents read strictly from manifest files, as kubectl would read them: other kinds
 * are skipped, and anything unreadable is an error naming the file and the field, with the fix.
 */
final class ManifestFiles {
  private static final ObjectMapper STRICT = new YAMLMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** One MicroApp and the file it came from. */
  record Source(Path file, MicroApp app) {}

  private ManifestFiles() {}

  /**
   * Every MicroApp in the given files and in the *.yaml, *.yml and *.json files of the given
   * directories (their subdirectories too when {@code recursive}), in order, files of a directory
   * sorted by name. Files holding no MicroApp are skipped; finding none at all is an error.
   */
  static List<Source> read(List<Path> paths, boolean recursive) {
    List<Source> out = new ArrayList<>();
    for (Path path : paths) {
      for (Path file : files(path, recursive)) {
        read(file).forEach(app -> out.add(new Source(file, app)));
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(paths.stream().map(Path::toString).collect(Collectors.joining(", "))
          + ": no MicroApp document found (kind: MicroApp, apiVersion: safedefaults.io/v1alpha1)");
    }
    return out;
  }

  private static List<Path> files(Path path, boolean recursive) {
    if (!Files.isDirectory(path)) {
      return List.of(path);
    }
    try (Stream<Path> s = recursive ? Files.walk(path) : Files.list(path)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().matches("(?i).*\\.(ya?ml|json)$"))
          .sorted().toList();
    } catch (IOException e) {
      throw new IllegalArgumentException(path + ": the directory cannot be read (" + e.getClass().getSimpleName() + ")");
    }
  }

  /** The MicroApps of one file, possibly none. */
  static List<MicroApp> read(Path file) {
    List<MicroApp> apps = documents(file, "MicroApp", MicroApp.class);
    for (MicroApp app : apps) {
      if (app.getSpec() == null || app.getSpec().getImage() == null || app.getSpec().getImage().isBlank()) {
        throw new IllegalArgumentException(file + ": spec.image is required, e.g. ghcr.io/acme/app:1.0.0");
      }
      if (app.getMetadata().getNamespace() == null) {
        app.getMetadata().setNamespace("default");
      }
    }
    return apps;
  }

  /** The MicroAppPolicies of one file (check --policy); a file with none is an error. */
  static List<io.safedefaults.microapp.api.MicroAppPolicy> policies(Path file) {
    var policies = documents(file, "MicroAppPolicy", io.safedefaults.microapp.api.MicroAppPolicy.class);
    if (policies.isEmpty()) {
      throw new IllegalArgumentException(file + ": no MicroAppPolicy document found");
    }
    for (var p : policies) {
      if (p.getSpec() == null || p.getSpec().getNamespaceSelector() == null) {
        throw new IllegalArgumentException(file + ": MicroAppPolicy " + p.getMetadata().getName()
            + ": spec.namespaceSelector is required ({} selects every namespace)");
      }
    }
    return policies;
  }

  /** The documents of one kind in a file, read strictly: an unknown or mistyped field names its path. */
  private static <T extends io.fabric8.kubernetes.api.model.HasMetadata> List<T> documents(Path file, String kind,
      Class<T> type) {
    String text;
    try {
      text = Files.readString(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file");
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    List<JsonNode> docs;
    try {
      docs = STRICT.readValues(new YAMLFactory().createParser(text), JsonNode.class).readAll();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(file + ": not valid YAML" + syntax(e));
    }
    String explainRoot = kind.toLowerCase(java.util.Locale.ROOT);
    List<T> out = new ArrayList<>();
    for (JsonNode doc : docs) {
      if (doc == null || doc.isNull() || doc.isMissingNode() || !kind.equals(doc.path("kind").asText())) {
        continue;
      }
      try {
        T item = STRICT.treeToValue(doc, type);
        if (item.getMetadata() == null || item.getMetadata().getName() == null) {
          throw new IllegalArgumentException(file + ": metadata.name is required");
        }
        out.add(item);
      } catch (UnrecognizedPropertyException e) {
        String field = path(e);
        String parent = field.contains(".") ? field.substring(0, field.lastIndexOf('.')) : null;
        throw new IllegalArgumentException(file + ": " + where(doc) + "unknown field '" + e.getPropertyName() + "' "
            + (parent == null ? "at the top level" : "in " + parent) + "; check the spelling against 'kubectl explain "
            + explainRoot + (parent == null ? "" : "." + explain(parent)) + "'");
      } catch (MismatchedInputException e) {
        throw new IllegalArgumentException(file + ": " + where(doc) + path(e) + " " + expected(e)
            + "; check it against 'kubectl explain " + explainRoot + "." + explain(path(e)) + "'");
      } catch (JsonMappingException e) {
        throw new IllegalArgumentException(file + ": " + where(doc) + path(e) + " cannot be read ("
            + firstLine(e.getOriginalMessage()) + ")");
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException(file + ": " + where(doc) + "cannot be read ("
            + firstLine(e.getOriginalMessage()) + ")");
      }
    }
    return out;
  }

  /** Which app in a file with several: {@code ns/name: }, or nothing when it has no name. */
  private static String where(JsonNode doc) {
    String name = doc.path("metadata").path("name").asText("");
    String ns = doc.path("metadata").path("namespace").asText("default");
    return name.isEmpty() ? "" : "MicroApp " + ns + "/" + name + ": ";
  }

  /** The field as a person writes it: spec.overrides[0].setting. */
  private static String path(JsonMappingException e) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        b.append(b.isEmpty() ? "" : ".").append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.isEmpty() ? "the document" : b.toString();
  }

  /** kubectl explain takes field names only: spec.overrides.setting. */
  private static String explain(String path) {
    return path.replaceAll("\\[\\d+]", "");
  }

  private static String expected(MismatchedInputException e) {
    Class<?> t = e.getTargetType();
    // Only a misspelt choice is echoed: any other value could be something that must not be printed.
    String got = t != null && t.isEnum() && e instanceof InvalidFormatException f && f.getValue() != null
        ? " '" + f.getValue() + "'" : "";
    String want;
    if (t == null) {
      want = "a value of another type";
    } else if (t.isEnum()) {
      want = "one of " + Arrays.stream(t.getEnumConstants()).map(c -> wireName((Enum<?>) c))
          .collect(Collectors.joining(", "));
    } else if (Number.class.isAssignableFrom(t) || t == int.class || t == long.class) {
      want = "a whole number";
    } else if (t == Boolean.class || t == boolean.class) {
      want = "true or false";
    } else if (t == String.class) {
      want = "a string";
    } else if (Collection.class.isAssignableFrom(t)) {
      want = "a list";
    } else {
      want = "a map of fields";
    }
    return "must be " + want + (got.isEmpty() ? "" : ", not" + got);
  }

  private static String wireName(Enum<?> c) {
    try {
      var p = c.getDeclaringClass().getField(c.name()).getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
      return p == null ? c.name() : p.value();
    } catch (NoSuchFieldException e) {
      return c.name();
    }
  }

  /** Where the YAML breaks and what the parser expected, without echoing the line (it may hold a value). */
  private static String syntax(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof org.yaml.snakeyaml.error.MarkedYAMLException y && y.getProblemMark() != null) {
        var at = y.getProblemMark();
        var context = y.getContextMark();
        return " at line " + (at.getLine() + 1) + ", column " + (at.getColumn() + 1) + ": " + y.getProblem()
            + (y.getContext() == null ? "" : " (" + y.getContext()
                + (context == null ? "" : " that starts at line " + (context.getLine() + 1)) + ")");
      }
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof JsonProcessingException j) {
        var at = j.getLocation();
        return (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()) + ": "
            + firstLine(j.getOriginalMessage());
      }
    }
    return ": " + firstLine(e.getMessage());
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.lines().findFirst().orElse("").trim();
  }
}
