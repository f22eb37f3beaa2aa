package io.safedefaults.microapp.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Objects read through the compacting serialization must say exactly what the API server sent:
 * JOSDK's server-side-apply matcher reads the operator's managed-fields tree (keys, nesting and the
 * order of a node's keys: it tells a keyed list from a field by the first key after "."), and the
 * status code reads Deployment and CronJob status. Generated variants: random trees with the
 * prefixes the API server uses, several managers, subtrees shared between objects and not.
 */
class CompactManagedFieldsTest {
  private static final KubernetesSerialization PLAIN = new KubernetesSerialization();
  private static final KubernetesSerialization COMPACT = CompactManagedFields.serialization();
  private static final String[] MANAGERS = {"microapp-operator", "kube-controller-manager", "kubectl", "kubectl-edit"};

  @Test
  void aReadObjectIsEqualToThePlainReadEntryByEntryAndInOrder() {
    Random random = new Random(16);
    for (int i = 0; i < 300; i++) {
      String json = deploymentJson(random, "uid-" + i, random.nextBoolean() ? shapeOf(random) : null);
      Deployment plain = PLAIN.unmarshal(json, Deployment.class);
      Deployment compact = COMPACT.unmarshal(json, Deployment.class);
      assertThat(compact).as("variant %d", i).isEqualTo(plain);
      // the same JSON, byte for byte: keys in the same order at every level
      assertThat(COMPACT.asJson(compact)).as("variant %d", i).isEqualTo(PLAIN.asJson(plain));
      assertThat(PLAIN.convertValue(compact, Map.class)).isEqualTo(PLAIN.convertValue(plain, Map.class));
      // what the status code reads
      assertThat(compact.getStatus()).isEqualTo(plain.getStatus());
      assertThat(compact.getMetadata().getManagedFields()).hasSameSizeAs(plain.getMetadata().getManagedFields());
      for (int m = 0; m < plain.getMetadata().getManagedFields().size(); m++) {
        ManagedFieldsEntry p = plain.getMetadata().getManagedFields().get(m);
        ManagedFieldsEntry c = compact.getMetadata().getManagedFields().get(m);
        assertThat(keyOrder(c.getFieldsV1().getAdditionalProperties()))
            .isEqualTo(keyOrder(p.getFieldsV1().getAdditionalProperties()));
      }
    }
  }

  @Test
  void aCronJobsStatusAndTreesSurviveTheRead() {
    Random random = new Random(7);
    for (int i = 0; i < 100; i++) {
      String json = """
          {"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"purge","namespace":"ns","uid":"u%d",
           "resourceVersion":"%d","managedFields":[%s]},
           "spec":{"schedule":"0 3 * * *","jobTemplate":{"spec":{}}},
           "status":{"lastSuccessfulTime":"2026-12-0%dT03:00:00Z","lastScheduleTime":"2026-12-07T03:00:00Z"}}
          """.formatted(i, i, entries(random, "u" + i, null), 1 + random.nextInt(7));
      CronJob plain = PLAIN.unmarshal(json, CronJob.class);
      CronJob compact = COMPACT.unmarshal(json, CronJob.class);
      assertThat(compact).isEqualTo(plain);
      assertThat(COMPACT.asJson(compact)).isEqualTo(PLAIN.asJson(plain));
      assertThat(compact.getStatus().getLastSuccessfulTime()).isEqualTo(plain.getStatus().getLastSuccessfulTime());
    }
  }

  @Test
  void equalSubtreesOfDifferentObjectsAreOneInstanceAndOnlyTheirOwnPartsDiffer() {
    Random random = new Random(42);
    Map<String, Object> spec = shapeOf(random);
    Deployment a = COMPACT.unmarshal(deploymentJson(new Random(1), "uid-a", spec), Deployment.class);
    Deployment b = COMPACT.unmarshal(deploymentJson(new Random(1), "uid-b", spec), Deployment.class);
    Map<String, Object> treeA = own(a).getFieldsV1().getAdditionalProperties();
    Map<String, Object> treeB = own(b).getFieldsV1().getAdditionalProperties();
    assertThat(treeA.get("f:spec")).isSameAs(treeB.get("f:spec"));
    // the owner reference names the owner's uid: that part is the object's own
    assertThat(treeA.get("f:metadata")).isNotSameAs(treeB.get("f:metadata"));
    assertThat(treeA).isNotEqualTo(treeB);
  }

  @Test
  void aSharedTreeCannotBeChangedThroughOneObject() {
    Random random = new Random(3);
    for (int i = 0; i < 50; i++) {
      Deployment d = COMPACT.unmarshal(deploymentJson(random, "uid-" + i, shapeOf(random)), Deployment.class);
      for (ManagedFieldsEntry entry : d.getMetadata().getManagedFields()) {
        Map<String, Object> tree = entry.getFieldsV1().getAdditionalProperties();
        assertThatThrownBy(() -> tree.put("f:x", Map.of())).isInstanceOf(UnsupportedOperationException.class);
        for (Object child : tree.values()) {
          @SuppressWarnings("unchecked")
          Map<String, Object> node = (Map<String, Object>) child;
          assertThatThrownBy(() -> node.put("f:x", Map.of())).isInstanceOf(UnsupportedOperationException.class);
        }
      }
    }
  }

  @Test
  void nodesWithTheSameKeysInAnotherOrderStayApart() {
    String first = "{\"f:a\":{},\"f:b\":{\"f:c\":{}}}";
    String second = "{\"f:b\":{\"f:c\":{}},\"f:a\":{}}";
    Deployment one = COMPACT.unmarshal(withTree("u1", first), Deployment.class);
    Deployment two = COMPACT.unmarshal(withTree("u2", second), Deployment.class);
    Map<String, Object> specOne = specTree(one);
    Map<String, Object> specTwo = specTree(two);
    assertThat(specOne.keySet()).containsExactly("f:a", "f:b");
    assertThat(specTwo.keySet()).containsExactly("f:b", "f:a");
    assertThat(specOne.get("f:b")).isSameAs(specTwo.get("f:b"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void theTableOfSharedNodesStaysBoundedAndSharingGoesOnAfterItStartsOver() {
    Map<String, Object> spec = tree(new Random(5), 5);
    Map<String, Object> previous = null;
    for (int i = 0; i < 3 * CompactManagedFields.MAX_NODES; i++) {
      Map<String, Object> tree = new LinkedHashMap<>();
      tree.put("f:metadata", Map.of("f:ownerReferences", Map.of("k:{\"uid\":\"" + i + "\"}", Map.of())));
      tree.put("f:spec", spec);
      Map<String, Object> shared = CompactManagedFields.shared(tree);
      assertThat(shared).isEqualTo(tree);
      assertThat(CompactManagedFields.sharedNodes()).isLessThanOrEqualTo(CompactManagedFields.MAX_NODES);
      if (previous != null && i % 1000 == 0) {
        Map<String, Object> again = CompactManagedFields.shared(tree);
        assertThat(again).isSameAs(shared);
        assertThat(((Map<String, Object>) again.get("f:spec")).keySet()).containsExactlyElementsOf(spec.keySet());
      }
      previous = shared;
    }
  }

  @Test
  void shortValuesAreOneInstanceButNeverTheValuesOfADataMap() {
    Random random = new Random(11);
    for (int i = 0; i < 50; i++) {
      String value = "v" + random.nextInt(1000);
      String secret = """
          {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s%1$d","namespace":"ns","resourceVersion":"1%1$d",
           "labels":{"app":"%2$s"}},
           "data":{"key":"%3$s"},"stringData":{"plain":"%4$s"}}
          """;
      String configMap = """
          {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c%d","namespace":"ns","labels":{"app":"%s"}},
           "data":{"key":"%s"},"binaryData":{"bin":"%s"}}
          """;
      io.fabric8.kubernetes.api.model.Secret one = COMPACT.unmarshal(secret.formatted(i, value, value, value),
          io.fabric8.kubernetes.api.model.Secret.class);
      io.fabric8.kubernetes.api.model.Secret two = COMPACT.unmarshal(secret.formatted(i, value, value, value),
          io.fabric8.kubernetes.api.model.Secret.class);
      io.fabric8.kubernetes.api.model.ConfigMap three = COMPACT.unmarshal(configMap.formatted(i, value, value, value),
          io.fabric8.kubernetes.api.model.ConfigMap.class);
      assertThat(one).isEqualTo(PLAIN.unmarshal(secret.formatted(i, value, value, value),
          io.fabric8.kubernetes.api.model.Secret.class));
      assertThat(one.getMetadata().getNamespace()).isSameAs(two.getMetadata().getNamespace());
      // new with every write: sharing it would only fill the table
      assertThat(one.getMetadata().getResourceVersion()).isEqualTo("1" + i)
          .isNotSameAs(two.getMetadata().getResourceVersion());
      assertThat(one.getMetadata().getLabels().get("app")).isSameAs(two.getMetadata().getLabels().get("app"))
          .isSameAs(three.getMetadata().getLabels().get("app"));
      assertThat(one.getData().get("key")).isEqualTo(value).isNotSameAs(two.getData().get("key"));
      assertThat(one.getStringData().get("plain")).isEqualTo(value).isNotSameAs(two.getStringData().get("plain"));
      assertThat(three.getData().get("key")).isEqualTo(value).isNotSameAs(one.getData().get("key"));
      assertThat(three.getBinaryData().get("bin")).isEqualTo(value).isNotSameAs(one.getMetadata().getLabels().get("app"));
    }
  }

  @Test
  void theTableOfSharedStringsStaysBounded() {
    String common = "microapp-operator";
    String first = CompactManagedFields.SharedStrings.share(new String(common));
    for (int i = 0; i < 3 * CompactManagedFields.SharedStrings.MAX_STRINGS; i++) {
      String value = "value-" + i;
      assertThat(CompactManagedFields.SharedStrings.share(value)).isEqualTo(value);
      assertThat(CompactManagedFields.SharedStrings.sharedStrings())
          .isLessThanOrEqualTo(CompactManagedFields.SharedStrings.MAX_STRINGS);
      String again = CompactManagedFields.SharedStrings.share(new String(common));
      assertThat(again).isEqualTo(common);
      if (i == 0) {
        assertThat(again).isSameAs(first);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> specTree(Deployment d) {
    return (Map<String, Object>) own(d).getFieldsV1().getAdditionalProperties().get("f:spec");
  }

  private static String withTree(String uid, String specTree) {
    return """
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"app","namespace":"ns","uid":"%s",
         "managedFields":[{"manager":"microapp-operator","operation":"Apply","apiVersion":"apps/v1",
          "time":"2026-12-07T22:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":%s}}]}}
        """.formatted(uid, specTree);
  }

  private static ManagedFieldsEntry own(Deployment d) {
    return d.getMetadata().getManagedFields().stream().filter(e -> e.getManager().equals("microapp-operator"))
        .findFirst().orElseThrow();
  }

  /** A Deployment as the API server sends it; with a fixed spec tree when given, else a random one. */
  private static String deploymentJson(Random random, String ownerUid, Map<String, Object> spec) {
    return """
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"app","namespace":"ns","uid":"%s-child","resourceVersion":"%d",
          "labels":{"app.kubernetes.io/managed-by":"microapp-operator"},
          "ownerReferences":[{"apiVersion":"safedefaults.io/v1alpha1","kind":"MicroApp","name":"app","uid":"%s",
           "controller":true,"blockOwnerDeletion":true}],
          "managedFields":[%s]},
         "spec":{"replicas":%d,"selector":{"matchLabels":{"app":"app"}},
          "template":{"metadata":{"labels":{"app":"app"}},"spec":{"containers":[{"name":"app","image":"x:1"}]}}},
         "status":{"replicas":1,"availableReplicas":%d,"observedGeneration":%d,
          "conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable"}]}}
        """.formatted(ownerUid, random.nextInt(100_000), ownerUid, entries(random, ownerUid, spec),
        1 + random.nextInt(3), random.nextInt(3), random.nextInt(5));
  }

  /** The operator's own Apply entry (with the owner reference) and zero to three of other managers. */
  private static String entries(Random random, String ownerUid, Map<String, Object> spec) {
    List<String> entries = new ArrayList<>();
    Map<String, Object> own = new LinkedHashMap<>();
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("f:labels", Map.of(".", Map.of(), "f:app.kubernetes.io/managed-by", Map.of()));
    metadata.put("f:ownerReferences", Map.of("k:{\"uid\":\"" + ownerUid + "\"}", tree(random, 1)));
    own.put("f:metadata", metadata);
    own.put("f:spec", spec != null ? spec : shapeOf(random));
    entries.add(entry("microapp-operator", "Apply", null, own));
    int others = random.nextInt(4);
    for (int i = 0; i < others; i++) {
      String manager = MANAGERS[1 + random.nextInt(MANAGERS.length - 1)];
      entries.add(entry(manager, random.nextBoolean() ? "Update" : "Apply",
          random.nextBoolean() ? "status" : null, tree(random, 4)));
    }
    return String.join(",", entries);
  }

  private static String entry(String manager, String operation, String subresource, Map<String, Object> tree) {
    return "{\"manager\":\"" + manager + "\",\"operation\":\"" + operation + "\",\"apiVersion\":\"apps/v1\","
        + "\"time\":\"2026-12-07T22:00:00Z\",\"fieldsType\":\"FieldsV1\","
        + (subresource == null ? "" : "\"subresource\":\"" + subresource + "\",")
        + "\"fieldsV1\":" + PLAIN.asJson(tree) + "}";
  }

  /** A spec tree drawn from a few shapes, so that many objects share one. */
  private static Map<String, Object> shapeOf(Random random) {
    return tree(new Random(random.nextInt(4)), 5);
  }

  /** A random managed-fields tree: "." first where there are children, fields, keyed list entries, set values. */
  private static Map<String, Object> tree(Random random, int depth) {
    Map<String, Object> node = new LinkedHashMap<>();
    if (depth == 0) {
      return node;
    }
    int kind = random.nextInt(6);
    int width = random.nextInt(5);
    if (width > 0 && random.nextBoolean()) {
      node.put(".", new LinkedHashMap<>());
    }
    for (int i = 0; i < width; i++) {
      String key = switch (kind) {
        case 0 -> "k:{\"name\":\"c" + random.nextInt(6) + "\"}";
        case 1 -> "v:\"" + random.nextInt(9) + "\"";
        default -> "f:" + FIELDS[random.nextInt(FIELDS.length)];
      };
      node.put(key, tree(random, random.nextInt(depth)));
    }
    return node;
  }

  private static final String[] FIELDS = {"replicas", "selector", "template", "containers", "image", "env",
      "ports", "name", "value", "resources", "limits", "cpu", "memory", "securityContext", "volumes"};

  private static List<String> keyOrder(Map<String, Object> tree) {
    List<String> order = new ArrayList<>();
    walk(tree, "", order);
    return order;
  }

  @SuppressWarnings("unchecked")
  private static void walk(Map<String, Object> tree, String path, List<String> out) {
    for (Map.Entry<String, Object> e : tree.entrySet()) {
      out.add(path + e.getKey());
      if (e.getValue() instanceof Map<?, ?> m) {
        walk((Map<String, Object>) m, path + e.getKey() + "/", out);
      }
    }
  }
}
