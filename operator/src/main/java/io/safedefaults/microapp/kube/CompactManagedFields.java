package io.safedefaults.microapp.kube;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.deser.std.DelegatingDeserializer;
import com.fasterxml.jackson.databind.deser.std.StringDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.fabric8.kubernetes.api.model.FieldsV1;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps every object the operator reads (and caches) small, without changing what it says: its
 * managed fields above all.
 *
 * <p>Every object the API server sends carries {@code metadata.managedFields}: per field manager a
 * tree with one JSON object per field it owns ({@code {"f:spec":{"f:replicas":{}}}}). Deserialised
 * as is, each of those objects is a {@code LinkedHashMap}: at 1,000 apps the informer caches held
 * about 650,000 of them, more than half of the operator's live heap. JOSDK's server-side-apply
 * matcher reads the tree of the operator's own field manager, so the trees must stay.
 *
 * <p>But the trees are nearly the same for every child of a kind: the operator applies the same
 * fields to every app's Deployment, and kube-controller-manager writes the same status fields. So
 * each subtree is replaced, bottom up, by one shared, unmodifiable instance with the same keys in
 * the same order ("hash consing"). What a reader sees is equal to what the API server sent, entry
 * by entry and in order; only the copies are gone. What stays per object is the few nodes naming
 * something of that object alone (the owner reference's uid in {@code f:ownerReferences}).
 *
 * <p>The shared nodes are unmodifiable: nobody edits a managed-fields tree of an object read from
 * the API server (JOSDK's matcher only reads it; an object sent back with server-side apply is
 * built fresh), and an edit would fail loudly instead of changing another object's tree. The table
 * of shared nodes is bounded: when it reaches {@link #MAX_NODES} it is emptied, which costs only the
 * sharing with nodes seen before (objects keep theirs).
 *
 * <p>The same read also shares short string values between objects ({@link SharedStrings}).
 *
 * <p>Installed on the operator's client through {@link #serialization()}.
 */
public final class CompactManagedFields {
  /**
   * Beyond this many nodes the table starts over. The table keeps nodes alive that no object uses
   * any more (those of deleted children): at most this many, a few MB. Starting over costs a fresh
   * copy of the common nodes (a few hundred) for the objects read after it. Each child has about
   * three nodes of its own (the root, f:metadata and f:ownerReferences name its owner's uid), so
   * at 10,000 children the table starts over every few thousand new children.
   */
  static final int MAX_NODES = 20_000;
  private static final Map<Node, Map<String, Object>> NODES = new ConcurrentHashMap<>();

  private CompactManagedFields() {}

  /** Fabric8's serialization with managed fields compacted on every read. */
  public static KubernetesSerialization serialization() {
    return new KubernetesSerialization(new ObjectMapper().registerModule(module()), true);
  }

  /** The Jackson module that compacts each {@link ManagedFieldsEntry} as it is deserialised. */
  public static SimpleModule module() {
    SimpleModule module = new SimpleModule("microapp-compact-managed-fields");
    module.addDeserializer(String.class, new SharedStrings());
    module.setDeserializerModifier(new BeanDeserializerModifier() {
      @Override
      public JsonDeserializer<?> modifyDeserializer(DeserializationConfig config, BeanDescription description,
          JsonDeserializer<?> deserializer) {
        return description.getBeanClass() == ManagedFieldsEntry.class
            ? new Compacting(deserializer) : deserializer;
      }
    });
    return module;
  }

  /** The entry with its tree replaced by shared nodes and its short strings shared; the same entry object. */
  public static ManagedFieldsEntry compact(ManagedFieldsEntry entry) {
    if (entry == null) {
      return null;
    }
    entry.setManager(share(entry.getManager()));
    entry.setOperation(share(entry.getOperation()));
    entry.setApiVersion(share(entry.getApiVersion()));
    entry.setFieldsType(share(entry.getFieldsType()));
    entry.setSubresource(share(entry.getSubresource()));
    FieldsV1 fields = entry.getFieldsV1();
    if (fields != null && fields.getAdditionalProperties() != null) {
      fields.setAdditionalProperties(shared(fields.getAdditionalProperties()));
    }
    return entry;
  }

  /** How many shared nodes the table holds now. */
  static int sharedNodes() {
    return NODES.size();
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> shared(Map<String, Object> tree) {
    String[] keys = new String[tree.size()];
    Object[] values = new Object[keys.length];
    int i = 0;
    for (Map.Entry<String, Object> e : tree.entrySet()) {
      keys[i] = share(e.getKey());
      Object v = e.getValue();
      values[i] = v instanceof Map<?, ?> m ? shared((Map<String, Object>) m) : v;
      i++;
    }
    Node node = new Node(keys, values);
    Map<String, Object> known = NODES.get(node);
    if (known != null) {
      return known;
    }
    if (NODES.size() >= MAX_NODES) {
      NODES.clear();
    }
    LinkedHashMap<String, Object> copy = new LinkedHashMap<>(keys.length * 4 / 3 + 1);
    for (int j = 0; j < keys.length; j++) {
      copy.put(keys[j], values[j]);
    }
    Map<String, Object> fresh = Collections.unmodifiableMap(copy);
    known = NODES.putIfAbsent(node, fresh);
    return known != null ? known : fresh;
  }

  private static String share(String s) {
    return s == null ? null : SharedStrings.share(s);
  }

  /**
   * A node by its keys in order and its children by identity (they are shared nodes already), or by
   * equality for the rare value that is not an object: two nodes are one only when equal entry by
   * entry and in the same order.
   */
  private record Node(String[] keys, Object[] values) {
    @Override
    public boolean equals(Object o) {
      if (!(o instanceof Node other) || !Arrays.equals(keys, other.keys) || values.length != other.values.length) {
        return false;
      }
      for (int i = 0; i < values.length; i++) {
        Object a = values[i];
        Object b = other.values[i];
        if (a != b && (a instanceof Map<?, ?> || b instanceof Map<?, ?> || !java.util.Objects.equals(a, b))) {
          return false;
        }
      }
      return true;
    }

    @Override
    public int hashCode() {
      int h = Arrays.hashCode(keys);
      for (Object v : values) {
        h = 31 * h + (v instanceof Map<?, ?> ? System.identityHashCode(v) : java.util.Objects.hashCode(v));
      }
      return h;
    }
  }

  /**
   * Short string values read once per object and equal in most of them (the namespace, the app's
   * name in every child, label values, owner kinds, images, env names, paths, timestamps) as one
   * instance each: Jackson shares field names but gives every value its own String, and those were
   * the largest share of the cached objects after the managed fields (about 600,000 at 1,000 apps).
   * Shared through a table of the operator's own, bounded as the table of nodes is, not through
   * {@code String.share()}: the JVM's string table would also hold every resourceVersion ever read
   * and G1 walks it at every young collection. Never shared: a resourceVersion (new with every
   * write) and the values of a data map (a Secret's or ConfigMap's data), which stay private to
   * their object.
   */
  static final class SharedStrings extends StringDeserializer {
    /** Longer values are rarely equal between objects (configuration, certificates). */
    static final int MAX_LENGTH = 64;
    /** Beyond this many strings the table starts over (about 40 bytes each besides the string). */
    static final int MAX_STRINGS = 50_000;
    private static final Map<String, String> STRINGS = new ConcurrentHashMap<>();

    @Override
    public String deserialize(JsonParser p, DeserializationContext context) throws IOException {
      String value = super.deserialize(p, context);
      return value == null || value.length() > MAX_LENGTH || privateValue(p) ? value : share(value);
    }

    static String share(String value) {
      String known = STRINGS.get(value);
      if (known != null) {
        return known;
      }
      if (STRINGS.size() >= MAX_STRINGS) {
        STRINGS.clear();
      }
      known = STRINGS.putIfAbsent(value, value);
      return known != null ? known : value;
    }

    static int sharedStrings() {
      return STRINGS.size();
    }

    private static boolean privateValue(JsonParser p) {
      JsonStreamContext map = p.getParsingContext();
      if (map == null) {
        return false;
      }
      if ("resourceVersion".equals(map.getCurrentName())) {
        return true;
      }
      JsonStreamContext owner = map.getParent();
      String field = owner == null ? null : owner.getCurrentName();
      return "data".equals(field) || "stringData".equals(field) || "binaryData".equals(field);
    }
  }

  private static final class Compacting extends DelegatingDeserializer {
    Compacting(JsonDeserializer<?> delegate) {
      super(delegate);
    }

    @Override
    protected JsonDeserializer<?> newDelegatingInstance(JsonDeserializer<?> delegate) {
      return new Compacting(delegate);
    }

    @Override
    public Object deserialize(JsonParser p, DeserializationContext context) throws IOException {
      Object value = super.deserialize(p, context);
      return value instanceof ManagedFieldsEntry entry ? compact(entry) : value;
    }
  }
}
