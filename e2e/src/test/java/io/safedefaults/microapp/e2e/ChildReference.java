package io.safedefaults.microapp.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.safedefaults.microapp.ManifestRenderer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The children the operator wrote, compared with the reference {@code render} prints for the same
 * MicroApps (the same builders, without a cluster). Only what the operator owns is compared: every
 * field the rendered object sets must be in the live object with the same value (the API server
 * adds defaults and server-set fields, which are not the operator's); lists must have the same
 * length, element by element. Key material the operator generates or opens in the cluster is
 * rendered as a placeholder: for those only the presence of the key is checked here, their values
 * are the test's to check ({@link #generatedMaterial}).
 */
final class ChildReference {
  static final String MANAGED_BY_KEY = "app.kubernetes.io/managed-by";
  static final String MANAGED_BY = "microapp-operator";
  /** The pod template's hash of the opened values and session keys: computed from generated material. */
  static final String SECRETS_HASH = "safedefaults.io/secrets-hash";
  private static final String PLACEHOLDER_B64 =
      Base64.getEncoder().encodeToString(ManifestRenderer.KEY_PLACEHOLDER.getBytes(StandardCharsets.UTF_8));
  private static final ObjectMapper YAML = new YAMLMapper();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The kinds the operator writes (never ReplicaSets, Jobs or Pods: controllers make those from its children). */
  static final List<String[]> KINDS = List.of(
      new String[] {"v1", "ServiceAccount"}, new String[] {"v1", "ConfigMap"}, new String[] {"v1", "Secret"},
      new String[] {"networking.k8s.io/v1", "NetworkPolicy"}, new String[] {"apps/v1", "Deployment"},
      new String[] {"v1", "Service"}, new String[] {"batch/v1", "CronJob"}, new String[] {"networking.k8s.io/v1", "Ingress"});

  record Key(String kind, String namespace, String name) implements Comparable<Key> {
    @Override
    public int compareTo(Key o) {
      return toString().compareTo(o.toString());
    }

    @Override
    public String toString() {
      return kind + " " + namespace + "/" + name;
    }
  }

  private ChildReference() {}

  /** {@code render}'s multi-document YAML, by kind, namespace and name. */
  static Map<Key, JsonNode> parseRendered(String yaml) {
    Map<Key, JsonNode> out = new TreeMap<>();
    try (var parser = new YAMLFactory().createParser(yaml)) {
      Iterator<JsonNode> docs = YAML.readValues(parser, JsonNode.class);
      while (docs.hasNext()) {
        JsonNode d = docs.next();
        if (d != null && d.isObject()) {
          out.put(key(d), d);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** Every object of {@link #KINDS} labelled as the operator's in {@code namespaces}. */
  static Map<Key, JsonNode> live(KubernetesClient client, Set<String> namespaces) {
    return live(client, namespaces, KINDS);
  }

  /** Every object of {@code kinds} (apiVersion, kind) labelled as the operator's in {@code namespaces}. */
  static Map<Key, JsonNode> live(KubernetesClient client, Set<String> namespaces, List<String[]> kinds) {
    Map<Key, JsonNode> out = new TreeMap<>();
    for (String[] kind : kinds) {
      for (String ns : namespaces) {
        for (GenericKubernetesResource r : client.genericKubernetesResources(kind[0], kind[1]).inNamespace(ns)
            .withLabel(MANAGED_BY_KEY, MANAGED_BY).list().getItems()) {
          JsonNode n = JSON.valueToTree(r);
          out.put(key(n), n);
        }
      }
    }
    return out;
  }

  /**
   * What differs between the reference and the live children: missing and extra objects, fields
   * with another value, and children not owned by their app alone ({@code appUids}: namespace/name
   * to uid; deleting the app deletes them). Empty when the cluster holds exactly what {@code render} says.
   */
  static List<String> differences(Map<Key, JsonNode> expected, Map<Key, JsonNode> live, Map<String, String> appUids) {
    List<String> out = new ArrayList<>();
    Set<Key> keys = new LinkedHashSet<>(expected.keySet());
    keys.addAll(live.keySet());
    for (Key k : keys) {
      JsonNode exp = expected.get(k);
      JsonNode got = live.get(k);
      if (got == null) {
        out.add("missing: " + k);
        continue;
      }
      if (exp == null) {
        out.add("extra: " + k);
        continue;
      }
      List<String> fields = new ArrayList<>();
      compare("metadata.labels", exp.path("metadata").path("labels"), got.path("metadata").path("labels"), fields);
      compare("metadata.annotations", exp.path("metadata").path("annotations"), got.path("metadata").path("annotations"),
          fields);
      exp.fieldNames().forEachRemaining(f -> {
        switch (f) {
          case "apiVersion", "kind", "metadata", "status" -> { }
          case "stringData" -> exp.get(f).fieldNames().forEachRemaining(d ->
              compare("stringData." + d + " (as data)", exp.get(f).get(d), decoded(got.path("data").path(d)), fields));
          default -> compare(f, exp.get(f), got.path(f), fields);
        }
      });
      String app = got.path("metadata").path("labels").path("safedefaults.io/app").asText();
      String uid = appUids.get(k.namespace() + "/" + app);
      JsonNode owners = got.path("metadata").path("ownerReferences");
      if (owners.size() != 1 || !owners.get(0).path("uid").asText().equals(uid)) {
        fields.add("not owned by its MicroApp " + k.namespace() + "/" + app + " alone: " + owners);
      }
      // a Secret's values are never shown, not even the ones that differ
      fields.forEach(f -> out.add(k + ": " + (k.kind().equals("Secret") ? f.replaceFirst(", found .*$", ", found another value") : f)));
    }
    return out;
  }

  /**
   * The values the operator generated or opened, per child: the data of every Secret (session
   * keys, purge tokens, opened values) and each Deployment's {@value #SECRETS_HASH}. Compared
   * before and after a fault: a restart must neither lose nor regenerate any of it. Never printed.
   */
  static Map<Key, String> generatedMaterial(Map<Key, JsonNode> live) {
    Map<Key, String> out = new TreeMap<>();
    live.forEach((k, n) -> {
      if (k.kind().equals("Secret")) {
        out.put(k, n.path("data").toString());
      } else if (k.kind().equals("Deployment")) {
        out.put(k, n.path("spec").path("template").path("metadata").path("annotations").path(SECRETS_HASH).asText());
      }
    });
    return out;
  }

  private static void compare(String path, JsonNode exp, JsonNode got, List<String> out) {
    if (exp == null || exp.isNull() || exp.isMissingNode()) {
      return;
    }
    if (exp.isTextual() && (exp.asText().equals(ManifestRenderer.KEY_PLACEHOLDER) || exp.asText().equals(PLACEHOLDER_B64))
        || path.endsWith("." + SECRETS_HASH)) {
      if (got.isMissingNode() || got.isNull() || got.asText().isEmpty()) {
        out.add(path + ": missing (generated in the cluster)");
      }
      return;
    }
    if (exp.isObject()) {
      if (!got.isObject()) {
        out.add(path + ": expected an object, found " + describe(got));
        return;
      }
      exp.fieldNames().forEachRemaining(f -> compare(path + "." + f, exp.get(f), got.path(f), out));
    } else if (exp.isArray()) {
      if (!got.isArray() || got.size() != exp.size()) {
        out.add(path + ": expected " + exp.size() + " entries, found " + describe(got));
        return;
      }
      for (int i = 0; i < exp.size(); i++) {
        compare(path + "[" + i + "]", exp.get(i), got.get(i), out);
      }
    } else if (got.isMissingNode() || !exp.asText().equals(got.asText())) {
      out.add(path + ": expected " + shorten(exp.asText()) + ", found " + describe(got));
    }
  }

  private static JsonNode decoded(JsonNode base64) {
    if (!base64.isTextual()) {
      return base64;
    }
    return JSON.getNodeFactory().textNode(new String(Base64.getDecoder().decode(base64.asText()), StandardCharsets.UTF_8));
  }

  private static String describe(JsonNode n) {
    if (n == null || n.isMissingNode()) {
      return "nothing";
    }
    if (n.isArray()) {
      return n.size() + " entries";
    }
    return n.isValueNode() ? shorten(n.asText()) : n.getNodeType().toString().toLowerCase();
  }

  private static String shorten(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }

  private static Key key(JsonNode n) {
    return new Key(n.path("kind").asText(), n.path("metadata").path("namespace").asText(), n.path("metadata").path("name").asText());
  }
}
