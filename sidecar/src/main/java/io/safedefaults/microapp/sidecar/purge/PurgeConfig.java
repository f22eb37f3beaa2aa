package io.safedefaults.microapp.sidecar.purge;

/**
 * What the purge CronJob's ConfigMap says (written by the operator's {@code PurgeJob.configJson}):
 * whose data, how old it may get, and exactly one target. Holds file paths only, never a secret.
 */
public record PurgeConfig(int version, String namespace, String app, int ttlDays, Target target, Http http,
    Postgres postgres, Volume volume) {

  public enum Target {
    HTTP, POSTGRES, VOLUME;

    public String word() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** POST olderThan=… to the app's purge endpoint through its sidecar, with the token in tokenFile. */
  public record Http(java.net.URI url, String tokenFile) {}

  /**
   * Delete rows of {@code table} whose {@code column} is older than the cutoff, batchSize rows per
   * statement; the JDBC URL is read from connectionFile at run time and never printed.
   */
  public record Postgres(String connectionFile, SqlIdentifier.Table table, SqlIdentifier column, int batchSize) {}

  /** Delete regular files older than the cutoff under root + path (path is inside the claim). */
  public record Volume(String root, String path) {}
}
