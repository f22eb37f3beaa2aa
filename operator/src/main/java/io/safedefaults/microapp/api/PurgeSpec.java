package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** Where the daily purge deletes old data (checklist 8). Exactly one target. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "(has(self.http) ? 1 : 0) + (has(self.postgres) ? 1 : 0) + (has(self.volume) ? 1 : 0) == 1",
    message = "spec.retention.purge must name exactly one of http, postgres or volume")
public class PurgeSpec {
  private static final String IDENTIFIER = "^[A-Za-z_][A-Za-z0-9_]{0,62}$";

  @JsonPropertyDescription("The app deletes its own old data: the purge job POSTs olderThan=<RFC 3339 cutoff> "
      + "to this path through the sidecar, with a token only the job holds.")
  private Http http;

  @JsonPropertyDescription("Delete rows whose timestamp column is older than the cutoff, in bounded batches.")
  private Postgres postgres;

  @JsonPropertyDescription("Delete files older than the cutoff under a path of a PersistentVolumeClaim.")
  private Volume volume;

  public Http getHttp() { return http; }
  public void setHttp(Http http) { this.http = http; }
  public Postgres getPostgres() { return postgres; }
  public void setPostgres(Postgres postgres) { this.postgres = postgres; }
  public Volume getVolume() { return volume; }
  public void setVolume(Volume volume) { this.volume = volume; }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Http {
    @Required
    @Size(max = 256)
    @JsonPropertyDescription("Path of the app's purge endpoint, e.g. /internal/purge.")
    @ValidationRule(value = RetentionSpec.PLAIN_PATH,
        message = "spec.retention.purge.http.path must be a plain absolute path such as /internal/purge")
    private String path;

    public String getPath() { return path; }
    public void setPath(String path) { this.path = path; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Postgres {
    @Required
    @Size(max = 128)
    @JsonPropertyDescription("Name of a spec.secrets.sealed value holding the JDBC URL, e.g. DATABASE_URL.")
    @ValidationRule(value = "self.matches('^[A-Za-z_][A-Za-z0-9_]{0,127}$')",
        message = "spec.retention.purge.postgres.connection must name a spec.secrets.sealed value such as DATABASE_URL")
    private String connection;

    @Required
    @Size(max = 127)
    @JsonPropertyDescription("Table to purge, optionally schema-qualified (schema.table); plain identifiers only,"
        + " matched case-sensitively as stored (quoted).")
    @ValidationRule(value = "self.split('.').size() <= 2 && self.split('.').all(p, p.matches('" + IDENTIFIER + "'))",
        message = "spec.retention.purge.postgres.table must be an identifier such as events or app.events")
    private String table;

    @Required
    @Size(max = 63)
    @JsonPropertyDescription("Timestamp column compared with the cutoff, e.g. created_at; case-sensitive as stored.")
    @ValidationRule(value = "self.matches('" + IDENTIFIER + "')",
        message = "spec.retention.purge.postgres.column must be an identifier such as created_at")
    private String column;

    @Min(1)
    @Max(100000)
    @JsonPropertyDescription("Rows deleted per statement (default 1000), so a purge never locks the table for long.")
    private Integer batchSize;

    public String getConnection() { return connection; }
    public void setConnection(String connection) { this.connection = connection; }
    public String getTable() { return table; }
    public void setTable(String table) { this.table = table; }
    public String getColumn() { return column; }
    public void setColumn(String column) { this.column = column; }
    public Integer getBatchSize() { return batchSize; }
    public void setBatchSize(Integer batchSize) { this.batchSize = batchSize; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Volume {
    @Required
    @Size(max = 253)
    @JsonPropertyDescription("PersistentVolumeClaim holding the app's files. The purge job mounts it too: with"
        + " ReadWriteOnce storage the job can only start on the app's node, so prefer ReadWriteMany or the http target.")
    @ValidationRule(value = "self.matches('^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$')",
        message = "spec.retention.purge.volume.claimName must be a PersistentVolumeClaim name")
    private String claimName;

    @Size(max = 256)
    @JsonPropertyDescription("Directory inside the claim to purge (default: the whole claim). It must exist, or the"
        + " purge fails rather than report success; symlinks are never followed.")
    @ValidationRule(value = "self.matches('^/[A-Za-z0-9._~/-]*$') && !self.contains('..')",
        message = "spec.retention.purge.volume.path must be an absolute path without '..' such as /uploads")
    private String path;

    public String getClaimName() { return claimName; }
    public void setClaimName(String claimName) { this.claimName = claimName; }
    public String getPath() { return path; }
    public void setPath(String path) { this.path = path; }
  }
}
