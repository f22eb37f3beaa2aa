package io.safedefaults.microapp.sidecar.purge;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server for the purge tests, from Debian's package: {@code initdb} into a
 * temporary directory and {@code pg_ctl start} on a free loopback port (Unix socket in the same
 * directory), with password authentication so the JDBC URL carries real credentials. PostgreSQL
 * refuses to run as root, so when the tests run as root the server runs as the {@code postgres}
 * user the package creates (or {@code nobody}) through {@code runuser}.
 */
final class PostgresServer implements AutoCloseable {
  static final String BIN_GLOB = "/usr/lib/postgresql/*/bin";
  private static final SecureRandom RANDOM = new SecureRandom();

  final Path dir;
  final int port;
  final String superuser;
  final String superPassword;
  private final Path bin;
  private final String runAs; // null: as the current user
  private final Thread cleanup;

  private PostgresServer(Path bin, Path dir, int port, String superuser, String superPassword, String runAs) {
    this.bin = bin;
    this.dir = dir;
    this.port = port;
    this.superuser = superuser;
    this.superPassword = superPassword;
    this.runAs = runAs;
    this.cleanup = new Thread(this::stop, "postgres-stop");
    Runtime.getRuntime().addShutdownHook(cleanup);
  }

  static String random(String prefix) {
    byte[] b = new byte[6];
    RANDOM.nextBytes(b);
    return prefix + HexFormat.of().formatHex(b);
  }

  static Path binaries() {
    Path base = Path.of("/usr/lib/postgresql");
    List<Path> found = new ArrayList<>();
    if (Files.isDirectory(base)) {
      try (Stream<Path> versions = Files.list(base)) {
        versions.map(v -> v.resolve("bin"))
            .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl"))
                && Files.isExecutable(b.resolve("postgres")))
            .forEach(found::add);
      } catch (IOException e) {
        // reported below
      }
    }
    return found.stream().max(Comparator.comparingInt(PostgresServer::majorVersion)).orElseThrow(() ->
        new IllegalStateException("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in " + BIN_GLOB
            + ": run e2e/install-test-deps.sh (Debian package postgresql)"));
  }

  private static int majorVersion(Path bin) {
    try {
      return Integer.parseInt(bin.getParent().getFileName().toString());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  static PostgresServer start() throws Exception {
    Path bin = binaries();
    String runAs = null;
    if ("root".equals(System.getProperty("user.name"))) {
      runAs = userExists("postgres") ? "postgres" : "nobody";
    }
    // under /tmp, not java.io.tmpdir: the server's user must be able to reach it
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "purge-pg");
    String superuser = random("admin_"); // "pg_" names are reserved
    String superPassword = random("pw-");
    Path pwfile = dir.resolve("pwfile");
    Files.writeString(pwfile, superPassword + "\n");
    if (runAs != null) {
      UserPrincipal owner = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(runAs);
      Files.setOwner(dir, owner);
      Files.setOwner(pwfile, owner);
    }
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    try {
      return initAndStart(bin, dir, pwfile, superuser, superPassword, runAs);
    } catch (Exception e) {
      deleteTree(dir);
      throw e;
    }
  }

  private static PostgresServer initAndStart(Path bin, Path dir, Path pwfile, String superuser, String superPassword,
      String runAs) throws Exception {
    run(runAs, dir, 120, bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U", superuser,
        "--pwfile=" + pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync");
    Files.delete(pwfile);
    IOException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      int port = freePort();
      try {
        run(runAs, dir, 60, bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(),
            "-l", dir.resolve("server.log").toString(), "-w", "-t", "50", "-o",
            "-c listen_addresses=127.0.0.1 -p " + port + " -k " + dir
                + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c log_connections=on",
            "start");
        return new PostgresServer(bin, dir, port, superuser, superPassword, runAs);
      } catch (IOException e) {
        last = e; // most likely the port was taken meanwhile
      }
    }
    throw last;
  }

  private static boolean userExists(String name) {
    try {
      return new ProcessBuilder("id", "-u", name).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
    } catch (Exception e) {
      return false;
    }
  }

  private static void run(String runAs, Path dir, int timeoutSeconds, String... command) throws Exception {
    List<String> cmd = new ArrayList<>();
    if (runAs != null) {
      cmd.addAll(List.of("runuser", "-u", runAs, "--"));
    }
    cmd.addAll(List.of(command));
    Path out = Files.createTempFile("pg-cmd", ".log");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(out.toFile()).start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(Path.of(command[0]).getFileName() + " did not finish in " + timeoutSeconds + " s");
    }
    String output = Files.readString(out, StandardCharsets.UTF_8);
    Files.deleteIfExists(out);
    if (p.exitValue() != 0) {
      Path log = dir.resolve("server.log");
      String serverLog = Files.isReadable(log) ? Files.readString(log) : "";
      throw new IOException(Path.of(command[0]).getFileName() + " failed (exit " + p.exitValue() + "): "
          + output.strip() + "\n" + serverLog.strip());
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A JDBC URL the way a MicroApp's sealed DATABASE_URL holds it: credentials in the query. */
  String jdbcUrl(String database, String user, String password) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=" + user + "&password=" + password;
  }

  Connection connect(String database) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", superuser);
    p.setProperty("password", superPassword);
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, p);
  }

  /** The server's log (log_connections is on: one "connection authorized" line per connection). */
  String log() throws IOException {
    return Files.readString(dir.resolve("server.log"));
  }

  private void stop() {
    try {
      run(runAs, dir, 30, bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate",
          "-w", "stop");
    } catch (Exception ignored) {
      // already stopped
    }
    deleteTree(dir);
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // temporary directory
    }
  }

  @Override
  public void close() {
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }
}
