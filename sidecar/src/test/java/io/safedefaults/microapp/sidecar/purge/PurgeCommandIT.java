package io.safedefaults.microapp.sidecar.purge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shaded jar as the purge CronJob runs it ({@code purge --config FILE}): exit code 0, 1 or 2,
 * exactly one JSON audit line on stdout (the real logback.xml, asynchronous appender drained
 * before exit), the same summary in the termination message, and no part of a JDBC URL anywhere.
 */
class PurgeCommandIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static Path dir;
  static PostgresServer pg;
  static String database;
  static String runner;
  static String password;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("purge-it");
    pg = PostgresServer.start();
    database = PostgresServer.random("itdata_");
    runner = PostgresServer.random("it_runner_");
    password = PostgresServer.random("it-secret-");
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + database);
      s.execute("CREATE ROLE " + runner + " LOGIN PASSWORD '" + password + "'");
    }
    try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE events (created_at timestamptz NOT NULL)");
      s.execute("INSERT INTO events SELECT now() - g * interval '1 day' - interval '12 hours' FROM generate_series(0, 59) g");
      s.execute("GRANT SELECT, DELETE ON events TO " + runner);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }

  record Run(int exitCode, List<String> stdout, List<String> stderr, String terminationMessage) {
    JsonNode audit() throws Exception {
      assertThat(stdout).as("exactly one line on stdout").hasSize(1);
      return JSON.readTree(stdout.get(0));
    }

    String everything() {
      return String.join("\n", stdout) + "\n" + String.join("\n", stderr) + "\n" + terminationMessage;
    }
  }

  private static Path config(Map<String, Object> target) throws Exception {
    Map<String, Object> c = new java.util.LinkedHashMap<>(Map.of("app", "where2eat", "namespace", "team-food",
        "ttlDays", 30, "version", 1));
    c.putAll(target);
    Path f = Files.createTempFile(dir, "purge", ".json");
    Files.writeString(f, JSON.writeValueAsString(c));
    return f;
  }

  private static Run run(String... args) throws Exception {
    Path log = Files.createTempFile(dir, "termination", ".log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", System.getProperty("sidecar.jar", "target/microapp-sidecar-all.jar")));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--termination-log", log.toString()));
    return exec(cmd, log);
  }

  private static Run exec(List<String> cmd, Path log) throws Exception {
    Path out = Files.createTempFile(dir, "stdout", ".txt");
    Path err = Files.createTempFile(dir, "stderr", ".txt");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    boolean exited = p.waitFor(90, TimeUnit.SECONDS);
    if (!exited) {
      p.destroyForcibly();
    }
    assertThat(exited).as("the purge exits by itself").isTrue();
    return new Run(p.exitValue(), Files.readAllLines(out, StandardCharsets.UTF_8),
        Files.readAllLines(err, StandardCharsets.UTF_8), log == null ? "" : Files.readString(log));
  }

  private static void assertAudit(JsonNode a, String event, String target, int exitCode) {
    assertThat(a.get("audit").asBoolean()).isTrue();
    assertThat(a.get("logger_name").asText()).isEqualTo("audit");
    assertThat(a.get("event").asText()).isEqualTo(event);
    assertThat(a.hasNonNull("target") ? a.get("target").asText() : null).isEqualTo(target);
    assertThat(a.get("exitCode").asInt()).isEqualTo(exitCode);
    assertThat(a.get("durationMs").isIntegralNumber()).isTrue();
    assertThat(a.has("cutoff") && a.has("deleted") && a.has("namespace") && a.has("app")).isTrue();
  }

  @Test
  void aVolumePurgeExitsZeroWithOneAuditLineAndTheSummary() throws Exception {
    Path root = Files.createDirectories(dir.resolve("claim"));
    Path uploads = Files.createDirectories(root.resolve("uploads"));
    Instant old = Instant.now().minus(Duration.ofDays(31));
    for (String name : List.of("a", "b")) {
      Files.writeString(uploads.resolve(name), name);
      Files.setLastModifiedTime(uploads.resolve(name), FileTime.from(old));
    }
    Files.writeString(uploads.resolve("new"), "new");

    Run r = run("purge", "--config", config(Map.of("target", "volume",
        "volume", Map.of("path", "/uploads", "root", root.toString()))).toString());

    assertThat(r.exitCode()).as(r.everything()).isEqualTo(0);
    assertThat(r.stderr()).isEmpty();
    JsonNode a = r.audit();
    assertAudit(a, "purge.completed", "volume", 0);
    assertThat(a.get("namespace").asText()).isEqualTo("team-food");
    assertThat(a.get("app").asText()).isEqualTo("where2eat");
    assertThat(a.get("deleted").asLong()).isEqualTo(2);
    assertThat(a.get("level").asText()).isEqualTo("INFO");
    assertThat(a.has("error")).isFalse();
    Instant cutoff = OffsetDateTime.parse(a.get("cutoff").asText()).toInstant();
    assertThat(Duration.between(cutoff, Instant.now()).toSeconds()).isBetween(30L * 86400 - 5, 30L * 86400 + 120);
    assertThat(a.get("cutoff").asText()).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");

    assertThat(r.terminationMessage().lines().toList()).hasSize(1);
    JsonNode t = JSON.readTree(r.terminationMessage());
    assertThat(t.get("event").asText()).isEqualTo("purge.completed");
    assertThat(t.get("deleted").asLong()).isEqualTo(2);
    assertThat(t.get("cutoff").asText()).isEqualTo(a.get("cutoff").asText());
    assertThat(Files.exists(uploads.resolve("new"))).isTrue();
  }

  @Test
  void aBadConfigurationExitsTwoWithOneLineOnStderrNamingTheField() throws Exception {
    Run r = run("purge", "--config", config(Map.of("target", "volume",
        "volume", Map.of("path", "/uploads", "root", "/data", "followLinks", true))).toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).containsExactly(
        "microapp-sidecar purge: unknown field 'volume.followLinks'; known fields there: path, root");
    JsonNode a = r.audit();
    assertAudit(a, "purge.failed", null, 2);
    assertThat(a.get("level").asText()).isEqualTo("ERROR");
    assertThat(a.get("error").asText()).startsWith("unknown field 'volume.followLinks'");
    assertThat(JSON.readTree(r.terminationMessage()).get("exitCode").asInt()).isEqualTo(2);

    Run missing = run("purge", "--config", dir.resolve("absent.json").toString());
    assertThat(missing.exitCode()).isEqualTo(2);
    assertThat(missing.stderr()).hasSize(1);
    assertThat(missing.stderr().get(0)).contains("does not exist");
    assertAudit(missing.audit(), "purge.failed", null, 2);
  }

  @Test
  void aFailedPurgeExitsOne() throws Exception {
    Path token = dir.resolve("token");
    Files.writeString(token, "job-token-123");
    Run r = run("purge", "--config", config(Map.of("target", "http", "http", Map.of("tokenFile", token.toString(),
        "url", "http://127.0.0.1:" + PostgresServer.freePort() + "/internal/purge"))).toString());
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.stderr()).isEmpty();
    JsonNode a = r.audit();
    assertAudit(a, "purge.failed", "http", 1);
    assertThat(a.get("error").asText()).startsWith("cannot reach the app's purge endpoint");
    assertThat(r.everything()).doesNotContain("job-token-123");
  }

  @Test
  void aPostgresPurgeSucceedsAndAWrongPasswordFailsWithoutAnyPartOfTheUrlInTheOutput() throws Exception {
    Path good = dir.resolve("DATABASE_URL");
    Files.writeString(good, pg.jdbcUrl(database, runner, password) + "\n");
    Path bad = dir.resolve("WRONG_URL");
    String wrongPassword = PostgresServer.random("wrong-");
    Files.writeString(bad, pg.jdbcUrl(database, runner, wrongPassword));

    Run failed = run("purge", "--config", config(Map.of("target", "postgres", "postgres", Map.of("batchSize", 7,
        "column", "created_at", "connectionFile", bad.toString(), "table", "events"))).toString());
    assertThat(failed.exitCode()).isEqualTo(1);
    assertAudit(failed.audit(), "purge.failed", "postgres", 1);
    assertThat(failed.audit().get("error").asText()).contains("SQLSTATE 28P01");
    assertNoUrl(failed.everything(), wrongPassword);

    Run ok = run("purge", "--config", config(Map.of("target", "postgres", "postgres", Map.of("batchSize", 7,
        "column", "created_at", "connectionFile", good.toString(), "table", "events"))).toString());
    assertThat(ok.exitCode()).as(ok.everything()).isEqualTo(0);
    JsonNode a = ok.audit();
    assertAudit(a, "purge.completed", "postgres", 0);
    // 60 rows aged 0.5 to 59.5 days: the 30 aged 30.5 days and more go, in batches of 7
    assertThat(a.get("deleted").asLong()).isEqualTo(30);
    assertNoUrl(ok.everything(), password);
    try (Connection c = pg.connect(database); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM events")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(30);
    }
  }

  private static void assertNoUrl(String output, String secret) {
    assertThat(output).doesNotContain(secret, runner, database, "127.0.0.1", ":" + pg.port, "password=", "user=");
  }

  @Test
  void withoutTheOptionTheDefaultTerminationLogIsNeverCreated() throws Exception {
    Path devLog = PurgeAudit.DEFAULT_TERMINATION_LOG;
    boolean existed = Files.exists(devLog);
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        System.getProperty("sidecar.jar", "target/microapp-sidecar-all.jar"), "purge", "--config",
        dir.resolve("absent.json").toString());
    Run r = exec(cmd, null);
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stdout()).hasSize(1);
    if (!existed) {
      assertThat(devLog).doesNotExist();
    }
  }
}
