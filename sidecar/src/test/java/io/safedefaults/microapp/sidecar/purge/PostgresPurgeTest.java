package io.safedefaults.microapp.sidecar.purge;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.TimeZone;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The postgres target against a real PostgreSQL server: old rows go, newer ones stay, in bounded
 * batches that are separate statements and transactions (as the server itself records them), names
 * that are not identifiers never reach the server, and the JDBC URL never reaches the output.
 */
class PostgresPurgeTest {
  static final Instant NOW = Instant.parse("2025-03-01T10:15:30.250Z");
  static final Instant CUTOFF = Instant.parse("2025-01-30T10:15:30Z"); // NOW - 30 days, whole seconds
  static PostgresServer pg;
  static String database;
  static String runner;
  static String runnerPassword;
  static Path dir;
  static Path connectionFile;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresServer.start();
    database = PostgresServer.random("appdata_");
    runner = PostgresServer.random("purge_runner_");
    runnerPassword = PostgresServer.random("secret-");
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + database);
      s.execute("CREATE ROLE " + runner + " LOGIN PASSWORD '" + runnerPassword + "'");
    }
    try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA app");
      s.execute("GRANT USAGE ON SCHEMA app TO " + runner);
      // the server's own record of each DELETE statement: its transaction and how many rows it removed
      s.execute("CREATE TABLE app.purge_log (seq bigserial, tx bigint, tbl text, n bigint)");
      s.execute("""
          CREATE FUNCTION app.log_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
          BEGIN
            INSERT INTO app.purge_log (tx, tbl, n) SELECT txid_current(), TG_TABLE_NAME, count(*) FROM old_rows;
            RETURN NULL;
          END $$""");
      s.execute("CREATE TABLE x (keep int)");
      s.execute("INSERT INTO x VALUES (1)");
    }
    dir = Files.createTempDirectory("purge-pg-test");
    connectionFile = dir.resolve("DATABASE_URL");
    Files.writeString(connectionFile, pg.jdbcUrl(database, runner, runnerPassword) + "\n");
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

  @BeforeEach
  void freshTables() throws Exception {
    sql("DROP TABLE IF EXISTS app.events", "DROP TABLE IF EXISTS app.visits", "TRUNCATE app.purge_log",
        "CREATE TABLE app.events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, body text)",
        "CREATE INDEX ON app.events (created_at)",
        "CREATE TRIGGER log AFTER DELETE ON app.events REFERENCING OLD TABLE AS old_rows "
            + "FOR EACH STATEMENT EXECUTE FUNCTION app.log_delete()",
        "GRANT SELECT, DELETE ON app.events TO " + runner);
  }

  private static void sql(String... statements) throws SQLException {
    try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
      for (String q : statements) {
        s.execute(q);
      }
    }
  }

  private static long count(String query) throws SQLException {
    try (Connection c = pg.connect(database); Statement s = c.createStatement(); ResultSet r = s.executeQuery(query)) {
      r.next();
      return r.getLong(1);
    }
  }

  /** Inserts n rows at cutoff + offset(i) seconds. */
  private static void insert(int n, java.util.function.IntUnaryOperator offsetSeconds) throws SQLException {
    try (Connection c = pg.connect(database);
        PreparedStatement p = c.prepareStatement("INSERT INTO app.events (created_at, body) VALUES (?, 'row')")) {
      c.setAutoCommit(false);
      for (int i = 0; i < n; i++) {
        p.setObject(1, OffsetDateTime.ofInstant(CUTOFF.plusSeconds(offsetSeconds.applyAsInt(i)), ZoneOffset.UTC));
        p.addBatch();
      }
      p.executeBatch();
      c.commit();
    }
  }

  private static Path config(String table, String column, int batchSize) throws Exception {
    String json = """
        {"app": "where2eat", "namespace": "team-food", "ttlDays": 30, "version": 1, "target": "postgres",
         "postgres": {"batchSize": %d, "column": %s, "connectionFile": "%s", "table": %s}}
        """.formatted(batchSize, jsonString(column), connectionFile, jsonString(table));
    Path f = Files.createTempFile(dir, "purge", ".json");
    Files.writeString(f, json);
    return f;
  }

  private static String jsonString(String s) throws Exception {
    return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(s);
  }

  private static PurgeOutcome run(Path config, List<Integer> batches) {
    return PurgeRun.run(config, Clock.fixed(NOW, ZoneOffset.UTC),
        c -> new PostgresPurge(c.postgres(), batches::add));
  }

  /** Per DELETE statement the server saw: [transaction id, rows]. */
  private static List<long[]> serverBatches() throws SQLException {
    List<long[]> out = new ArrayList<>();
    try (Connection c = pg.connect(database); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT tx, n FROM app.purge_log WHERE tbl = 'events' ORDER BY seq")) {
      while (r.next()) {
        out.add(new long[] {r.getLong(1), r.getLong(2)});
      }
    }
    return out;
  }

  @Test
  void rowsOlderThanTheCutoffGoNewerOnesStayInBoundedBatchesEachItsOwnTransaction() throws Exception {
    insert(2345, i -> -1 - i * 60);            // older: from 1 s to ~39 h before the cutoff
    insert(400, i -> i * 90);                  // the cutoff itself (kept: strictly older goes) and newer
    insert(3, i -> 86400 * 40);                // in the future

    List<Integer> batches = new ArrayList<>();
    long connectionsBefore = runnerConnections();
    PurgeOutcome o = run(config("app.events", "created_at", 1000), batches);

    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(runnerConnections()).as("one connection for the whole run").isEqualTo(connectionsBefore + 1);
    assertThat(o.deleted()).isEqualTo(2345L);
    assertThat(o.cutoff()).isEqualTo("2025-01-30T10:15:30Z");
    assertThat(o.target()).isEqualTo("postgres");
    assertThat(count("SELECT count(*) FROM app.events")).isEqualTo(403);
    assertThat(count("SELECT count(*) FROM app.events WHERE created_at < '2025-01-30T10:15:30Z'")).isZero();
    assertThat(count("SELECT count(*) FROM app.events WHERE created_at = '2025-01-30T10:15:30Z'")).isEqualTo(1);

    assertThat(batches).containsExactly(1000, 1000, 345);
    List<long[]> seen = serverBatches();
    assertThat(seen).extracting(b -> b[1]).containsExactly(1000L, 1000L, 345L);
    assertThat(seen).extracting(b -> b[0]).doesNotHaveDuplicates();
  }

  @Test
  void anExactMultipleOfTheBatchSizeEndsWithAnEmptyBatchAndNothingOldIsLeft() throws Exception {
    insert(40, i -> -1 - i);
    insert(5, i -> 1 + i);
    List<Integer> batches = new ArrayList<>();
    PurgeOutcome o = run(config("app.events", "created_at", 20), batches);
    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(batches).containsExactly(20, 20, 0);
    assertThat(o.deleted()).isEqualTo(40L);
    assertThat(count("SELECT count(*) FROM app.events")).isEqualTo(5);
  }

  @Test
  void nothingToDeleteIsASuccessWithZero() throws Exception {
    insert(10, i -> i);
    PurgeOutcome o = run(config("app.events", "created_at", 1000), new ArrayList<>());
    assertThat(o.exitCode()).isEqualTo(0);
    assertThat(o.deleted()).isZero();
    assertThat(count("SELECT count(*) FROM app.events")).isEqualTo(10);
  }

  @Test
  void aTimestampWithoutTimeZoneColumnIsReadAsUtcWhateverTheClientZone() throws Exception {
    sql("CREATE TABLE app.visits (\"seenAt\" timestamp NOT NULL)",
        "INSERT INTO app.visits VALUES ('2025-01-30 08:15:30'), ('2025-01-30 10:15:29'), ('2025-01-30 10:15:30'),"
            + " ('2025-01-30 12:15:30')",
        "GRANT SELECT, DELETE ON app.visits TO " + runner);
    TimeZone before = TimeZone.getDefault();
    PurgeOutcome o;
    try {
      // the driver tells the server the JVM's zone; five hours off UTC would keep or delete wrong rows
      TimeZone.setDefault(TimeZone.getTimeZone("America/New_York"));
      o = run(config("app.visits", "seenAt", 1000), new ArrayList<>());
    } finally {
      TimeZone.setDefault(before);
    }
    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(o.deleted()).isEqualTo(2L);
    List<LocalDateTime> left = new ArrayList<>();
    try (Connection c = pg.connect(database); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT \"seenAt\" FROM app.visits ORDER BY 1")) {
      while (r.next()) {
        left.add(r.getObject(1, LocalDateTime.class));
      }
    }
    assertThat(left).containsExactly(LocalDateTime.parse("2025-01-30T10:15:30"), LocalDateTime.parse("2025-01-30T12:15:30"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"events; drop table x", "app.events; DROP TABLE x", "\"events\"", "app.\"events\"",
      "events--", "events/**/", "a.b.c", "évents", "ｅvents", "", " events", "events\n", "1events", "app.",
      ".events", "events' OR '1'='1", "pg_catalog.pg_class x"})
  void aTableNameThatIsNotAnIdentifierNeverReachesTheServer(String table) throws Exception {
    insert(5, i -> -100 - i);
    long connectionsBefore = runnerConnections();
    PurgeOutcome o = run(config(table, "created_at", 1000), new ArrayList<>());
    assertThat(o.exitCode()).isEqualTo(2);
    assertThat(o.error()).startsWith("field 'postgres.table'");
    assertThat(runnerConnections()).as("no connection, so no SQL").isEqualTo(connectionsBefore);
    assertThat(count("SELECT count(*) FROM x")).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM app.events")).isEqualTo(5);
  }

  @ParameterizedTest
  @ValueSource(strings = {"created_at; drop table x", "created_at < now() OR true", "\"created_at\"", "created_at--",
      "app.created_at", "créé", "", "created_at)",
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" /* 64 */})
  void aColumnNameThatIsNotAnIdentifierNeverReachesTheServer(String column) throws Exception {
    insert(5, i -> -100 - i);
    long connectionsBefore = runnerConnections();
    PurgeOutcome o = run(config("app.events", column, 1000), new ArrayList<>());
    assertThat(o.exitCode()).isEqualTo(2);
    assertThat(o.error()).startsWith("field 'postgres.column'");
    assertThat(runnerConnections()).isEqualTo(connectionsBefore);
    assertThat(count("SELECT count(*) FROM app.events")).isEqualTo(5);
  }

  @Test
  void namesAreQuotedSoAReservedWordIsATableNotSyntax() throws Exception {
    sql("CREATE TABLE IF NOT EXISTS app.\"user\" (\"order\" timestamptz)", "TRUNCATE app.\"user\"",
        "INSERT INTO app.\"user\" VALUES ('2020-01-01T00:00:00Z'), ('2099-01-01T00:00:00Z')",
        "GRANT SELECT, DELETE ON app.\"user\" TO " + runner);
    PurgeOutcome o = run(config("app.user", "order", 1000), new ArrayList<>());
    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(o.deleted()).isEqualTo(1L);
  }

  @Test
  void aMissingTableFailsWithItsSqlStateAndNoConnectionDetails() throws Exception {
    PurgeOutcome o = run(config("app.no_such_table", "created_at", 1000), new ArrayList<>());
    assertThat(o.exitCode()).isEqualTo(1);
    assertThat(o.error()).contains("SQLSTATE 42P01", "table does not exist");
    assertNoConnectionDetails(PurgeAudit.summary(o));
  }

  @Test
  void aWrongPasswordFailsWithoutPrintingAnyPartOfTheUrl() throws Exception {
    insert(5, i -> -100 - i);
    Path wrong = dir.resolve("WRONG_URL");
    String badPassword = PostgresServer.random("wrong-secret-");
    Files.writeString(wrong, pg.jdbcUrl(database, runner, badPassword));
    Path config = config("app.events", "created_at", 1000);
    Files.writeString(config, Files.readString(config).replace(connectionFile.toString(), wrong.toString()));
    PurgeOutcome o = run(config, new ArrayList<>());
    assertThat(o.exitCode()).isEqualTo(1);
    assertThat(o.error()).contains("SQLSTATE 28P01", "authentication failed");
    String summary = PurgeAudit.summary(o);
    assertNoConnectionDetails(summary);
    assertThat(summary).doesNotContain(badPassword);
    assertThat(count("SELECT count(*) FROM app.events")).isEqualTo(5);
  }

  @Test
  void aConnectionFileThatIsNotAJdbcUrlIsABadConfigurationAndIsNotEchoed() throws Exception {
    Path garbage = dir.resolve("GARBAGE_URL");
    Files.writeString(garbage, "postgres://" + runner + ":" + runnerPassword + "@127.0.0.1:" + pg.port + "/" + database);
    Path config = config("app.events", "created_at", 1000);
    Files.writeString(config, Files.readString(config).replace(connectionFile.toString(), garbage.toString()));
    PurgeOutcome o = run(config, new ArrayList<>());
    assertThat(o.exitCode()).isEqualTo(2);
    assertThat(o.error()).startsWith("field 'postgres.connectionFile'").contains("jdbc:postgresql://");
    assertNoConnectionDetails(PurgeAudit.summary(o));
  }

  @Test
  void theSuccessfulRunsSummaryHoldsNoConnectionDetails() throws Exception {
    insert(3, i -> -100 - i);
    PurgeOutcome o = run(config("app.events", "created_at", 1000), new ArrayList<>());
    assertThat(o.exitCode()).isEqualTo(0);
    assertNoConnectionDetails(PurgeAudit.summary(o));
  }

  static void assertNoConnectionDetails(String text) {
    assertThat(text).doesNotContain(runnerPassword, runner, database, ":" + pg.port, "127.0.0.1", "user=", "password=");
  }

  private static long runnerConnections() throws Exception {
    Matcher m = Pattern.compile("connection authorized: user=" + runner + "\\b").matcher(pg.log());
    long n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }
}
