package io.safedefaults.microapp.sidecar.purge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The configuration exactly as the operator writes it parses; anything else is refused with one
 * line naming the field, and never echoes a value.
 */
class PurgeConfigLoaderTest {
  static final ObjectMapper JSON = new ObjectMapper();
  // what operator/.../retention/PurgeJob.configJson writes (pretty-printed, keys sorted)
  static final String HTTP = """
      {
        "app" : "where2eat",
        "http" : {
          "tokenFile" : "/etc/microapp-purge/token/token",
          "url" : "http://where2eat.team-food.svc:80/internal/purge"
        },
        "namespace" : "team-food",
        "target" : "http",
        "ttlDays" : 30,
        "version" : 1
      }
      """;
  static final String POSTGRES = """
      {"app": "where2eat", "namespace": "team-food", "ttlDays": 30, "version": 1, "target": "postgres",
       "postgres": {"batchSize": 1000, "column": "created_at", "connectionFile": "/etc/microapp-purge/db/DATABASE_URL",
                    "table": "app.events"}}
      """;
  static final String VOLUME = """
      {"app": "where2eat", "namespace": "team-food", "ttlDays": 30, "version": 1, "target": "volume",
       "volume": {"path": "/uploads", "root": "/data"}}
      """;

  /**
   * Both ends of the contract: the operator's golden purge configurations (PurgeConfigGoldenTest
   * keeps them equal to what PurgeJob writes) parse here, each as the target it names.
   */
  @ParameterizedTest
  @CsvSource({"purge-http.json,HTTP", "purge-postgres.json,POSTGRES", "purge-volume.json,VOLUME"})
  void theOperatorsGoldenConfigurationsParse(String file, PurgeConfig.Target target) throws Exception {
    Path golden = Path.of("..", "operator", "src", "test", "resources", "golden", file);
    PurgeConfig config = PurgeConfigLoader.parse(Files.readString(golden));
    assertThat(config.target()).isEqualTo(target);
    assertThat(config.app()).isEqualTo("where2eat");
    assertThat(config.namespace()).isEqualTo("team-food");
    assertThat(config.ttlDays()).isPositive();
  }

  private static String edit(String base, Consumer<ObjectNode> change) throws Exception {
    ObjectNode n = (ObjectNode) JSON.readTree(base);
    change.accept(n);
    return JSON.writeValueAsString(n);
  }

  private static String refused(String json) {
    try {
      PurgeConfigLoader.parse(json);
    } catch (PurgeConfigException e) {
      assertThat(e.getMessage()).doesNotContain("\n");
      return e.getMessage();
    }
    throw new AssertionError("accepted: " + json);
  }

  @Test
  void readsTheThreeTargetsAsTheOperatorWritesThem() {
    PurgeConfig h = PurgeConfigLoader.parse(HTTP);
    assertThat(h.target()).isEqualTo(PurgeConfig.Target.HTTP);
    assertThat(h.namespace()).isEqualTo("team-food");
    assertThat(h.app()).isEqualTo("where2eat");
    assertThat(h.ttlDays()).isEqualTo(30);
    assertThat(h.http().url()).isEqualTo(URI.create("http://where2eat.team-food.svc:80/internal/purge"));
    assertThat(h.http().tokenFile()).isEqualTo("/etc/microapp-purge/token/token");

    PurgeConfig p = PurgeConfigLoader.parse(POSTGRES);
    assertThat(p.postgres().table().quoted()).isEqualTo("\"app\".\"events\"");
    assertThat(p.postgres().column().name()).isEqualTo("created_at");
    assertThat(p.postgres().batchSize()).isEqualTo(1000);
    assertThat(p.postgres().connectionFile()).isEqualTo("/etc/microapp-purge/db/DATABASE_URL");

    PurgeConfig v = PurgeConfigLoader.parse(VOLUME);
    assertThat(v.volume()).isEqualTo(new PurgeConfig.Volume("/data", "/uploads"));
    assertThat(PurgeConfigLoader.parse(VOLUME.replace("/uploads", "/")).volume().path()).isEqualTo("/");
    // what the CRD lets through: '.' segments and a trailing slash
    assertThat(PurgeConfigLoader.parse(VOLUME.replace("/uploads", "/uploads/./2024/")).volume().path())
        .isEqualTo("/uploads/./2024/");
  }

  @Test
  void unknownFieldsAreNamed() throws Exception {
    assertThat(refused(edit(HTTP, n -> n.put("ttlDay", 30))))
        .isEqualTo("unknown field 'ttlDay'; known fields there: app, http, namespace, postgres, target, ttlDays, version, volume");
    assertThat(refused(edit(POSTGRES, n -> ((ObjectNode) n.get("postgres")).put("where", "1=1"))))
        .startsWith("unknown field 'postgres.where'; known fields there: batchSize, column, connectionFile, table");
    assertThat(refused(edit(VOLUME, n -> ((ObjectNode) n.get("volume")).put("followSymlinks", true))))
        .startsWith("unknown field 'volume.followSymlinks'");
    assertThat(refused(edit(HTTP, n -> ((ObjectNode) n.get("http")).put("token", "s3cr3t"))))
        .startsWith("unknown field 'http.token'").doesNotContain("s3cr3t");
  }

  @ParameterizedTest
  @ValueSource(strings = {"version", "namespace", "app", "ttlDays", "target", "http"})
  void missingFieldsAreNamed(String field) throws Exception {
    assertThat(refused(edit(HTTP, n -> n.remove(field)))).isEqualTo("field '" + field + "' is required");
  }

  @ParameterizedTest
  @ValueSource(strings = {"batchSize", "column", "connectionFile", "table"})
  void missingPostgresFieldsAreNamed(String field) throws Exception {
    assertThat(refused(edit(POSTGRES, n -> ((ObjectNode) n.get("postgres")).remove(field))))
        .isEqualTo("field 'postgres." + field + "' is required");
  }

  @Test
  void missingNestedFieldsOfTheOtherTargetsAreNamed() throws Exception {
    assertThat(refused(edit(HTTP, n -> ((ObjectNode) n.get("http")).remove("tokenFile"))))
        .isEqualTo("field 'http.tokenFile' is required");
    assertThat(refused(edit(VOLUME, n -> ((ObjectNode) n.get("volume")).putNull("root"))))
        .isEqualTo("field 'volume.root' is required");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "\"30\"       | ttlDays", "30.5 | ttlDays", "0 | ttlDays", "-1 | ttlDays", "36501 | ttlDays",
      "true | ttlDays", "99999999999 | ttlDays"})
  void ttlDaysMustBeAWholeNumberOfDaysInRange(String value, String field) throws Exception {
    String json = HTTP.replace("\"ttlDays\" : 30", "\"ttlDays\" : " + value.strip());
    assertThat(refused(json)).isEqualTo("field 'ttlDays' must be a whole number from 1 to 36500");
  }

  @Test
  void versionTargetAndNamesAreChecked() throws Exception {
    assertThat(refused(edit(HTTP, n -> n.put("version", 2)))).startsWith("field 'version' must be 1");
    assertThat(refused(edit(HTTP, n -> n.put("target", "ftp")))).startsWith("field 'target' must be one of");
    assertThat(refused(edit(HTTP, n -> n.put("target", "HTTP")))).startsWith("field 'target' must be one of");
    assertThat(refused(edit(HTTP, n -> n.put("namespace", "Team Food")))).startsWith("field 'namespace'");
    assertThat(refused(edit(HTTP, n -> n.put("app", "")))).startsWith("field 'app'");
    assertThat(refused(edit(HTTP, n -> n.put("app", 7)))).isEqualTo("field 'app' must be a non-empty string");
  }

  @Test
  void exactlyTheNamedTargetIsConfigured() throws Exception {
    assertThat(refused(edit(HTTP, n -> n.put("target", "postgres")))).isEqualTo("field 'http' is not allowed when target is postgres");
    assertThat(refused(edit(HTTP, n -> n.putObject("volume").put("root", "/data").put("path", "/"))))
        .isEqualTo("field 'volume' is not allowed when target is http");
    assertThat(refused(edit(HTTP, n -> n.put("http", "http://x/y")))).isEqualTo("field 'http' must be an object");
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://user:s3cr3t@where2eat.team-food.svc/internal/purge",
      "http://where2eat.team-food.svc/internal/purge?token=s3cr3t", "http://where2eat.team-food.svc/internal/purge#s3cr3t",
      "ftp://where2eat.team-food.svc/internal/purge", "where2eat.team-food.svc/internal/purge", "http:///internal/purge",
      "http://where2eat.team-food.svc", "http://where 2eat/s3cr3t"})
  void theUrlIsPlainHttpWithoutCredentialsAndIsNotEchoed(String url) throws Exception {
    assertThat(refused(edit(HTTP, n -> ((ObjectNode) n.get("http")).put("url", url))))
        .startsWith("field 'http.url'").doesNotContain("s3cr3t");
  }

  @ParameterizedTest
  @ValueSource(strings = {"token", "./token", "etc/token", ""})
  void credentialFilesAreAbsolutePaths(String path) throws Exception {
    assertThat(refused(edit(HTTP, n -> ((ObjectNode) n.get("http")).put("tokenFile", path))))
        .startsWith("field 'http.tokenFile'");
    assertThat(refused(edit(POSTGRES, n -> ((ObjectNode) n.get("postgres")).put("connectionFile", path))))
        .startsWith("field 'postgres.connectionFile'");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, 100001})
  void theBatchSizeIsBounded(int size) throws Exception {
    assertThat(refused(edit(POSTGRES, n -> ((ObjectNode) n.get("postgres")).put("batchSize", size))))
        .isEqualTo("field 'postgres.batchSize' must be a whole number from 1 to 100000");
  }

  @ParameterizedTest
  @ValueSource(strings = {"events; drop table x", "\"events\"", "events--", "a.b.c", "évents", ""})
  void tableAndColumnMustBeIdentifiers(String name) throws Exception {
    assertThat(refused(edit(POSTGRES, n -> ((ObjectNode) n.get("postgres")).put("table", name))))
        .startsWith("field 'postgres.table'").doesNotContain(name.isEmpty() ? "\u0000" : name);
    assertThat(refused(edit(POSTGRES, n -> ((ObjectNode) n.get("postgres")).put("column", name))))
        .startsWith("field 'postgres.column'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"../etc", "/../etc", "/uploads/../../etc", "/uploads/..", "uploads", "/up\nloads",
      "/up\\loads"})
  void theVolumePathStaysInsideTheClaim(String path) throws Exception {
    assertThat(refused(edit(VOLUME, n -> ((ObjectNode) n.get("volume")).put("path", path))))
        .startsWith("field 'volume.path'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "data", "/data/", "/data/../etc", "/data/./x", "//data"})
  void theVolumeRootIsANormalisedDirectoryOtherThanSlash(String root) throws Exception {
    assertThat(refused(edit(VOLUME, n -> ((ObjectNode) n.get("volume")).put("root", root))))
        .startsWith("field 'volume.root'");
  }

  @Test
  void malformedJsonDuplicatesAndTrailingDataAreRefusedWithoutEchoingThem() {
    assertThat(refused("{\"version\": 1, \"version\": 1}")).startsWith("configuration is not valid JSON");
    assertThat(refused(VOLUME + " {}")).startsWith("configuration is not valid JSON");
    assertThat(refused("{\"app\": s3cr3t}")).startsWith("configuration is not valid JSON").doesNotContain("s3cr3t");
    assertThat(refused("[]")).isEqualTo("configuration must be a JSON object");
    assertThat(refused("")).isEqualTo("configuration must be a JSON object");
  }

  @Test
  void aMissingFileNamesThePath() throws Exception {
    Path absent = Path.of("/nonexistent-" + System.nanoTime(), "purge.json");
    assertThatThrownBy(() -> PurgeConfigLoader.load(absent)).isInstanceOf(PurgeConfigException.class)
        .hasMessage("configuration file " + absent + " does not exist; pass --config with the mounted path");
  }
}
