package io.safedefaults.microapp.e2e;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.safedefaults.microapp.api.MicroApp;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * MicroApps generated from the CRD's own OpenAPI schema ({@code crds/microapps.safedefaults.io-v1.yml},
 * the file {@code stack.sh} applies), seeded so a run reproduces. Objects, required and optional
 * fields, lists and maps up to their bounds, integers within (and just outside) their range, enums
 * and free strings come from the schema alone, so a new field is generated without a change here.
 * A string the schema constrains with a rule, pattern or format is written by its {@link SpecValues}
 * entry; {@link #constrainedStrings} lists them so a test fails when one has no entry.
 * A few values per spec are hostile ({@link SpecValues#hostile}), so part of the specs are refused.
 */
final class SpecGenerator {
  /** Chance that one value (string, number, list, object) is made hostile. */
  private static final double HOSTILE = 0.02;
  private static final String LOWER = "abcdefghijklmnopqrstuvwxyz";

  /** One generated MicroApp: a name and the spec (null: an object without spec). */
  record App(String name, Map<String, Object> spec) {
    GenericKubernetesResource resource(String namespace) {
      GenericKubernetesResource r = new GenericKubernetesResourceBuilder()
          .withApiVersion(MicroApp.GROUP + "/" + MicroApp.VERSION).withKind("MicroApp")
          .withNewMetadata().withName(name).withNamespace(namespace).endMetadata().build();
      if (spec != null) {
        r.setAdditionalProperty("spec", spec);
      }
      return r;
    }
  }

  private final JSONSchemaProps specSchema;
  private final Random random;
  private final Set<String> names = new HashSet<>();

  SpecGenerator(JSONSchemaProps specSchema, long seed) {
    this.specSchema = specSchema;
    this.random = new Random(seed);
  }

  /** {@code -Dspec.seed}, or a fresh seed; printed either way, so a failing run can be replayed. */
  static long seed(String who) {
    Long fixed = Long.getLong("spec.seed");
    long seed = fixed != null ? fixed : new SecureRandom().nextLong();
    System.out.println(who + ": seed " + seed + " (replay with -Dspec.seed=" + seed + ")");
    return seed;
  }

  /** The schema of {@code spec} in the checked-in CRD. */
  static JSONSchemaProps specSchema(Path repoRoot) {
    try (InputStream in = Files.newInputStream(repoRoot.resolve("crds/microapps.safedefaults.io-v1.yml"))) {
      CustomResourceDefinition crd = new KubernetesSerialization().unmarshal(in, CustomResourceDefinition.class);
      return crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema().getProperties().get("spec");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Schema paths of the strings a rule, pattern or format constrains (its own, or its list's or
   * map's): {@code spec.auth.adminPaths[]}, {@code spec.secrets.sealed{key}} for a map's keys,
   * {@code spec.secrets.sealed{}} for its values. A type the generator cannot write fails here.
   */
  static Set<String> constrainedStrings(JSONSchemaProps spec) {
    Set<String> out = new TreeSet<>();
    walk("spec", spec, false, out);
    return out;
  }

  private static void walk(String path, JSONSchemaProps s, boolean containerRules, Set<String> out) {
    switch (type(path, s)) {
      case "object" -> {
        if (isMap(s)) {
          if (hasRules(s)) {
            out.add(path + "{key}");
          }
          walk(path + "{}", s.getAdditionalProperties().getSchema(), hasRules(s), out);
        } else {
          s.getProperties().forEach((k, v) -> walk(path + "." + k, v, false, out));
        }
      }
      case "array" -> walk(path + "[]", s.getItems().getSchema(), hasRules(s), out);
      case "string" -> {
        if (constrained(s, containerRules)) {
          out.add(path);
        }
      }
      default -> { }
    }
  }

  App next() {
    String name = name();
    return new App(name, random.nextInt(50) == 0 ? null : object("spec", specSchema, false));
  }

  /**
   * metadata.name: mostly a DNS label of 1-63 characters (uniform length, so long names are common);
   * sometimes one the API accepts but a child name could not carry (a leading digit, dots, up to 253
   * characters), one it refuses (upper case), or an object every namespace already has (SpecContractIT
   * adds "default", the namespace's ServiceAccount, every run).
   */
  private String name() {
    for (;;) {
      String n = switch (random.nextInt(40)) {
        case 0 -> "kube-root-ca.crt";
        case 1 -> random.nextInt(10) + label(1 + random.nextInt(20));
        case 2 -> label(1 + random.nextInt(20)) + "." + label(1 + random.nextInt(20));
        case 3 -> label(63) + "." + label(63) + "." + label(random.nextInt(64) + 1);
        case 4 -> "App-" + label(5);
        default -> label(1 + random.nextInt(63));
      };
      if (names.add(n)) {
        return n;
      }
    }
  }

  /** A DNS label starting with a letter. */
  private String label(int length) {
    String middle = SpecValues.repeat(random, LOWER + "0123456789-", Math.max(0, length - 2));
    return SpecValues.repeat(random, LOWER, 1) + middle + (length > 1 ? SpecValues.repeat(random, LOWER + "0123456789", 1) : "");
  }

  private Object value(String path, JSONSchemaProps s, boolean containerRules) {
    boolean hostile = random.nextDouble() < HOSTILE;
    return switch (type(path, s)) {
      case "object" -> isMap(s) ? map(path, s, hostile) : object(path, s, hostile);
      case "array" -> list(path, s, hostile);
      case "integer" -> integer(s, hostile);
      case "boolean" -> random.nextBoolean();
      default -> string(path, s, containerRules, hostile);
    };
  }

  /** Required fields always (a hostile object may lose one), optional ones three times in five. */
  private Map<String, Object> object(String path, JSONSchemaProps s, boolean hostile) {
    List<String> required = s.getRequired() == null ? List.of() : s.getRequired();
    Map<String, Object> out = new LinkedHashMap<>();
    s.getProperties().forEach((k, v) -> {
      boolean include = required.contains(k) ? !(hostile && random.nextBoolean()) : random.nextInt(5) < 3;
      if (include) {
        out.put(k, value(path + "." + k, v, false));
      }
    });
    return out;
  }

  private List<Object> list(String path, JSONSchemaProps s, boolean hostile) {
    List<Object> out = new ArrayList<>();
    for (int i = size(s.getMaxItems(), hostile); i > 0; i--) {
      out.add(value(path + "[]", s.getItems().getSchema(), hasRules(s)));
    }
    return out;
  }

  private Map<String, Object> map(String path, JSONSchemaProps s, boolean hostile) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = size(s.getMaxProperties(), hostile); i > 0; i--) {
      String key = hasRules(s) ? entry(path + "{key}").next(random, 253) : SpecValues.freeText(random, 63);
      out.put(key, value(path + "{}", s.getAdditionalProperties().getSchema(), hasRules(s)));
    }
    return out;
  }

  /** Mostly 1-3 entries; sometimes none or exactly the maximum; hostile: one more than allowed. */
  private int size(Long max, boolean hostile) {
    int limit = max == null ? 8 : max.intValue();
    if (hostile) {
      return limit + 1;
    }
    int k = random.nextInt(20);
    return k == 0 ? 0 : k == 1 ? limit : 1 + random.nextInt(Math.min(limit, 3));
  }

  /** The bounds, and mostly small values between them; hostile: just outside. */
  private long integer(JSONSchemaProps s, boolean hostile) {
    long min = s.getMinimum() == null ? Integer.MIN_VALUE : s.getMinimum().longValue();
    long max = s.getMaximum() == null ? Integer.MAX_VALUE : s.getMaximum().longValue();
    if (hostile) {
      return random.nextBoolean() ? min - 1 : max + 1;
    }
    return switch (random.nextInt(6)) {
      case 0 -> min;
      case 1 -> max;
      default -> min + (long) (Math.pow(random.nextDouble(), 3) * (max - min));
    };
  }

  private String string(String path, JSONSchemaProps s, boolean containerRules, boolean hostile) {
    int max = s.getMaxLength() == null ? 64 : s.getMaxLength().intValue();
    String v = isEnum(s) ? s.getEnum().get(random.nextInt(s.getEnum().size())).asText()
        : constrained(s, containerRules) ? entry(path).next(random, max)
        : SpecValues.freeText(random, max);
    return hostile ? SpecValues.hostile(random, v, max) : v;
  }

  private static SpecValues.Value entry(String path) {
    SpecValues.Value v = SpecValues.BY_PATH.get(path);
    if (v == null) {
      throw new IllegalStateException("the CRD constrains " + path + " but SpecValues has no entry for it: add one");
    }
    return v;
  }

  private static boolean constrained(JSONSchemaProps s, boolean containerRules) {
    return !isEnum(s) && (containerRules || hasRules(s) || s.getPattern() != null || s.getFormat() != null);
  }

  private static boolean isEnum(JSONSchemaProps s) {
    return s.getEnum() != null && !s.getEnum().isEmpty();
  }

  private static boolean hasRules(JSONSchemaProps s) {
    return s.getXKubernetesValidations() != null && !s.getXKubernetesValidations().isEmpty();
  }

  private static boolean isMap(JSONSchemaProps s) {
    return (s.getProperties() == null || s.getProperties().isEmpty())
        && s.getAdditionalProperties() != null && s.getAdditionalProperties().getSchema() != null;
  }

  private static String type(String path, JSONSchemaProps s) {
    String t = s.getType();
    if (t == null || !Set.of("object", "array", "string", "integer", "boolean").contains(t)
        || "object".equals(t) && (s.getProperties() == null || s.getProperties().isEmpty()) && !isMap(s)) {
      throw new IllegalStateException("the generator cannot write " + path + " (type " + t
          + "): teach SpecGenerator this kind of field");
    }
    return t;
  }
}
