package io.safedefaults.microapp.sidecar.purge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads the purge configuration strictly (checklist 8): an unknown or misspelt field, a missing one,
 * a wrong type or an unsafe value stops the run with exit code 2 and one line naming the field,
 * instead of purging the wrong thing or silently nothing. Values are never echoed, so a line can
 * never leak whatever was put there by mistake.
 */
public final class PurgeConfigLoader {
  public static final int MAX_TTL_DAYS = 36_500;
  public static final int MAX_BATCH = 100_000;
  private static final Pattern K8S_NAME = Pattern.compile("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$");
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .build();

  private PurgeConfigLoader() {}

  public static PurgeConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new PurgeConfigException("configuration file " + file + " does not exist; pass --config with the mounted path");
    } catch (IOException e) {
      throw new PurgeConfigException("configuration file " + file + " cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    return parse(text);
  }

  public static PurgeConfig parse(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      // the location only: Jackson's message quotes the offending text
      throw new PurgeConfigException("configuration is not valid JSON (line " + e.getLocation().getLineNr()
          + ", column " + e.getLocation().getColumnNr() + ")");
    }
    if (root == null || root.isMissingNode() || !root.isObject()) {
      throw new PurgeConfigException("configuration must be a JSON object");
    }
    Obj top = new Obj(root, "");
    top.onlyKnown("app", "http", "namespace", "postgres", "target", "ttlDays", "version", "volume");
    int version = top.integer("version", 1, Integer.MAX_VALUE);
    if (version != 1) {
      throw new PurgeConfigException("field 'version' must be 1 (this runner reads version 1)");
    }
    String namespace = top.name("namespace");
    String app = top.name("app");
    int ttlDays = top.integer("ttlDays", 1, MAX_TTL_DAYS);
    String targetWord = top.text("target");
    PurgeConfig.Target target;
    try {
      target = PurgeConfig.Target.valueOf(targetWord.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new PurgeConfigException("field 'target' must be one of http, postgres or volume");
    }
    if (!target.word().equals(targetWord)) {
      throw new PurgeConfigException("field 'target' must be one of http, postgres or volume");
    }
    for (PurgeConfig.Target other : PurgeConfig.Target.values()) {
      if (other != target && root.has(other.word())) {
        throw new PurgeConfigException("field '" + other.word() + "' is not allowed when target is " + target.word());
      }
    }
    PurgeConfig.Http http = null;
    PurgeConfig.Postgres postgres = null;
    PurgeConfig.Volume volume = null;
    switch (target) {
      case HTTP -> {
        Obj h = top.object("http");
        h.onlyKnown("tokenFile", "url");
        http = new PurgeConfig.Http(httpUrl(h), h.absolutePath("tokenFile"));
      }
      case POSTGRES -> {
        Obj p = top.object("postgres");
        p.onlyKnown("batchSize", "column", "connectionFile", "table");
        String table = p.text("table");
        SqlIdentifier.Table t;
        try {
          t = SqlIdentifier.Table.parse(table);
        } catch (IllegalArgumentException e) {
          throw new PurgeConfigException("field 'postgres.table' must be an identifier or schema.identifier, each "
              + "matching ^[A-Za-z_][A-Za-z0-9_]{0,62}$ (such as events or app.events)");
        }
        String column = p.text("column");
        if (!SqlIdentifier.isValid(column)) {
          throw new PurgeConfigException("field 'postgres.column' must be an identifier matching "
              + "^[A-Za-z_][A-Za-z0-9_]{0,62}$ (such as created_at)");
        }
        postgres = new PurgeConfig.Postgres(p.absolutePath("connectionFile"), t, new SqlIdentifier(column),
            p.integer("batchSize", 1, MAX_BATCH));
      }
      case VOLUME -> {
        Obj v = top.object("volume");
        v.onlyKnown("path", "root");
        volume = new PurgeConfig.Volume(volumeRoot(v), volumePath(v));
      }
      default -> throw new IllegalStateException();
    }
    return new PurgeConfig(version, namespace, app, ttlDays, target, http, postgres, volume);
  }

  private static URI httpUrl(Obj h) {
    String text = h.text("url");
    URI u;
    try {
      u = new URI(text);
    } catch (URISyntaxException e) {
      throw new PurgeConfigException("field 'http.url' is not a valid URL");
    }
    if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null
        || u.getRawUserInfo() != null || u.getRawQuery() != null || u.getRawFragment() != null
        || u.getRawPath() == null || !u.getRawPath().startsWith("/")) {
      throw new PurgeConfigException("field 'http.url' must be http(s)://host[:port]/path without credentials, "
          + "query or fragment (such as http://where2eat.team-food.svc:80/internal/purge)");
    }
    return u;
  }

  private static String volumeRoot(Obj v) {
    String root = v.absolutePath("root");
    Path p = Path.of(root);
    if (p.getNameCount() == 0 || !p.normalize().toString().equals(root)) {
      throw new PurgeConfigException("field 'volume.root' must be a normalised absolute directory other than / "
          + "(such as /data)");
    }
    return root;
  }

  private static String volumePath(Obj v) {
    String path = v.text("path");
    if (!path.startsWith("/") || hasControl(path) || path.indexOf('\\') >= 0) {
      throw new PurgeConfigException("field 'volume.path' must be an absolute path inside the claim (such as /uploads)");
    }
    // the operator's CRD refuses '..' anywhere; '.' and empty segments are harmless and skipped
    for (String segment : path.split("/")) {
      if (segment.equals("..")) {
        throw new PurgeConfigException("field 'volume.path' must not contain .. segments");
      }
    }
    return path;
  }

  private static boolean hasControl(String s) {
    return s.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f);
  }

  /** One JSON object of the configuration, with the dotted path used in messages. */
  private record Obj(JsonNode node, String prefix) {
    String field(String name) {
      return prefix + name;
    }

    JsonNode required(String name) {
      JsonNode n = node.get(name);
      if (n == null || n.isNull()) {
        throw new PurgeConfigException("field '" + field(name) + "' is required");
      }
      return n;
    }

    String text(String name) {
      JsonNode n = required(name);
      if (!n.isTextual() || n.textValue().isBlank()) {
        throw new PurgeConfigException("field '" + field(name) + "' must be a non-empty string");
      }
      return n.textValue();
    }

    String name(String name) {
      String s = text(name);
      if (!K8S_NAME.matcher(s).matches()) {
        throw new PurgeConfigException("field '" + field(name) + "' must be a Kubernetes object name");
      }
      return s;
    }

    String absolutePath(String name) {
      String s = text(name);
      if (!s.startsWith("/") || hasControl(s)) {
        throw new PurgeConfigException("field '" + field(name) + "' must be an absolute file path");
      }
      return s;
    }

    int integer(String name, int min, int max) {
      JsonNode n = required(name);
      if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < min || n.intValue() > max) {
        throw new PurgeConfigException("field '" + field(name) + "' must be a whole number from " + min + " to " + max);
      }
      return n.intValue();
    }

    Obj object(String name) {
      JsonNode n = required(name);
      if (!n.isObject()) {
        throw new PurgeConfigException("field '" + field(name) + "' must be an object");
      }
      return new Obj(n, field(name) + ".");
    }

    void onlyKnown(String... known) {
      Set<String> names = new TreeSet<>(List.of(known));
      List<String> unknown = new ArrayList<>();
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!names.contains(f)) {
          unknown.add(f);
        }
      }
      if (!unknown.isEmpty()) {
        throw new PurgeConfigException("unknown field '" + field(printable(unknown.get(0))) + "'; known fields there: "
            + String.join(", ", names));
      }
    }

    private static String printable(String s) {
      String one = s.codePoints().map(c -> c < 0x20 || c == 0x7f ? '?' : c)
          .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
      return one.length() > 64 ? one.substring(0, 64) + "…" : one;
    }
  }
}
