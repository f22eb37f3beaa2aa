package io.safedefaults.microapp.sidecar.purge;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Properties;
import java.util.function.IntConsumer;
import java.util.logging.Level;

/**
 * Deletes rows whose timestamp column is older than the cutoff (checklist 8), {@code batchSize}
 * rows per statement, each statement its own transaction, until a batch deletes fewer than
 * {@code batchSize}: locks are held briefly and a run that is stopped keeps what it deleted.
 *
 * <p>SQL is built only from validated, double-quoted {@link SqlIdentifier}s; the cutoff is a bound
 * parameter. Each batch picks row addresses with a Tid Scan instead of re-scanning the table:
 * {@code DELETE FROM t WHERE ctid = ANY(ARRAY(SELECT ctid FROM t WHERE col < ? LIMIT n)) AND col < ?}.
 * The outer {@code col < ?} re-checks every row: on a partitioned (or inherited) table a ctid is only
 * unique per partition, so a batch there may delete up to n rows per partition, but never a row
 * newer than the cutoff.
 *
 * <p>The JDBC URL (host, database, user, password) is read from the mounted Secret and never
 * printed: driver messages are replaced by their SQLSTATE, and the driver's own logging is off.
 */
final class PostgresPurge implements PurgeTarget {
  /** One batch may not hold its locks longer than this. */
  static final int STATEMENT_TIMEOUT_SECONDS = 300;
  static final int LOCK_TIMEOUT_SECONDS = 60;
  static final int CONNECT_TIMEOUT_SECONDS = 15;
  // strong reference: java.util.logging keeps loggers weakly, and the level must stick
  private static final java.util.logging.Logger DRIVER_LOG = java.util.logging.Logger.getLogger("org.postgresql");

  private final PurgeConfig.Postgres config;
  private final String jdbcUrl;
  private final IntConsumer batchListener;

  PostgresPurge(PurgeConfig.Postgres config) {
    this(config, n -> {});
  }

  /** {@code batchListener} hears each batch's deleted row count (tests check that batches are bounded). */
  PostgresPurge(PurgeConfig.Postgres config, IntConsumer batchListener) {
    this.config = config;
    this.batchListener = batchListener;
    String url = SecretFile.read(config.connectionFile(), "postgres.connectionFile");
    if (!url.startsWith("jdbc:postgresql:") || url.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw new PurgeConfigException("field 'postgres.connectionFile': the file must hold one JDBC URL starting with "
          + "jdbc:postgresql:// (contents not shown)");
    }
    this.jdbcUrl = url;
  }

  /** The statement for one batch; only quoted identifiers and placeholders. */
  static String deleteBatchSql(SqlIdentifier.Table table, SqlIdentifier column) {
    String t = table.quoted();
    String c = column.quoted();
    return "DELETE FROM " + t + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + t + " WHERE " + c + " < ? LIMIT ?)) AND "
        + c + " < ?";
  }

  @Override
  public Long purge(Instant cutoff) throws PurgeFailedException {
    DRIVER_LOG.setLevel(Level.OFF);
    String sql = deleteBatchSql(config.table(), config.column());
    OffsetDateTime at = OffsetDateTime.ofInstant(cutoff, ZoneOffset.UTC);
    long deleted = 0;
    try (Connection db = connect()) {
      try (Statement s = db.createStatement()) {
        // timestamp-without-time-zone columns are read as UTC; batches never wait or run for long
        s.execute("SET TIME ZONE 'UTC'");
        s.execute("SET statement_timeout = '" + STATEMENT_TIMEOUT_SECONDS + "s'");
        s.execute("SET lock_timeout = '" + LOCK_TIMEOUT_SECONDS + "s'");
      } catch (SQLException e) {
        throw failure("cannot prepare the database session", e, deleted);
      }
      db.setAutoCommit(false);
      try (PreparedStatement delete = db.prepareStatement(sql)) {
        delete.setObject(1, at);
        delete.setInt(2, config.batchSize());
        delete.setObject(3, at);
        while (true) {
          int n;
          try {
            n = delete.executeUpdate();
            db.commit();
          } catch (SQLException e) {
            rollbackQuietly(db);
            throw failure("deleting a batch from " + config.table() + " failed", e, deleted);
          }
          deleted += n;
          batchListener.accept(n);
          if (n < config.batchSize()) {
            return deleted;
          }
          if (Thread.currentThread().isInterrupted()) {
            throw new PurgeFailedException("interrupted after deleting " + deleted + " rows", deleted);
          }
        }
      }
    } catch (SQLException e) {
      throw failure("the database connection failed", e, deleted);
    }
  }

  private Connection connect() throws PurgeFailedException {
    Properties props = new Properties();
    props.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
    props.setProperty("loginTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
    props.setProperty("ApplicationName", "microapp-purge");
    Connection c;
    try {
      // this driver only: no DriverManager lookup that another jar on the class path could answer
      c = new org.postgresql.Driver().connect(jdbcUrl, props);
    } catch (SQLException e) {
      throw failure("cannot connect to the database named by postgres.connectionFile", e, null);
    }
    if (c == null) {
      throw new PurgeFailedException("the PostgreSQL driver did not accept the JDBC URL in postgres.connectionFile "
          + "(contents not shown)", null);
    }
    return c;
  }

  private static void rollbackQuietly(Connection db) {
    try {
      db.rollback();
    } catch (SQLException ignored) {
      // the connection is closed next anyway
    }
  }

  /** A sentence with the SQLSTATE and what it means, never the driver's message (it names hosts and users). */
  static PurgeFailedException failure(String what, SQLException e, Long deleted) {
    String state = e.getSQLState();
    String meaning = meaning(state);
    return new PurgeFailedException(what + " (SQLSTATE " + (state == null ? "unknown" : state)
        + (meaning == null ? "" : ": " + meaning) + ")" + (deleted == null || deleted == 0 ? "" : " after deleting "
        + deleted + " rows"), deleted);
  }

  private static String meaning(String state) {
    if (state == null) {
      return null;
    }
    return switch (state) {
      case "28P01", "28000" -> "authentication failed";
      case "3D000" -> "database does not exist";
      case "42P01" -> "table does not exist";
      case "42703" -> "column does not exist";
      case "42883", "42804" -> "the column cannot be compared with a timestamp";
      case "42501" -> "permission denied";
      case "57014" -> "statement timeout after " + STATEMENT_TIMEOUT_SECONDS + " s";
      case "55P03" -> "lock not available within " + LOCK_TIMEOUT_SECONDS + " s";
      case "40P01" -> "deadlock";
      case "25006" -> "read-only transaction";
      default -> state.startsWith("08") ? "connection failure" : null;
    };
  }
}
