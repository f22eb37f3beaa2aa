package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** What the operator observed, never what it hoped. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MicroAppStatus {

  @JsonPropertyDescription("metadata.generation of the spec this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription("Ready plus one condition per checklist area.")
  private List<StatusCondition> conditions = new ArrayList<>();

  @JsonPropertyDescription("How many checklist defaults this app meets.")
  private Checklist checklist;

  @JsonPropertyDescription("Each sealed value and the id of the key that sealed it, so platform teams see "
      + "what still uses an old key ('microapp-operator reseal' moves it to the current one).")
  private List<SealedValueStatus> sealedValues;

  @JsonPropertyDescription("The scheduled purge of old data and how its last run went.")
  private RetentionStatus retention;

  @JsonPropertyDescription("Where users reach the app (only with a host and a working Ingress).")
  private String url;

  public Long getObservedGeneration() { return observedGeneration; }
  public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
  public List<StatusCondition> getConditions() { return conditions; }
  public void setConditions(List<StatusCondition> conditions) { this.conditions = conditions; }
  public Checklist getChecklist() { return checklist; }
  public void setChecklist(Checklist checklist) { this.checklist = checklist; }
  public List<SealedValueStatus> getSealedValues() { return sealedValues; }
  public void setSealedValues(List<SealedValueStatus> sealedValues) { this.sealedValues = sealedValues; }
  public RetentionStatus getRetention() { return retention; }
  public void setRetention(RetentionStatus retention) { this.retention = retention; }
  public String getUrl() { return url; }
  public void setUrl(String url) { this.url = url; }

  @Override
  public boolean equals(Object o) {
    return o instanceof MicroAppStatus s
        && Objects.equals(observedGeneration, s.observedGeneration)
        && Objects.equals(conditions, s.conditions)
        && Objects.equals(checklist, s.checklist)
        && Objects.equals(sealedValues, s.sealedValues)
        && Objects.equals(retention, s.retention)
        && Objects.equals(url, s.url);
  }

  @Override
  public int hashCode() {
    return Objects.hash(observedGeneration, conditions, checklist, url);
  }

  /** One sealed value: its name, the key that sealed it, and whether that key is the current one. */
  public record SealedValueStatus(
      @JsonPropertyDescription("spec.secrets.sealed name, or auth.clientSecret") String name,
      @JsonPropertyDescription("Tink key id that sealed the value") Long keyId,
      @JsonPropertyDescription("true when sealed with the current primary key") Boolean currentKey) {}

  /** The purge schedule and the outcome of its most recent Job. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RetentionStatus(
      @JsonPropertyDescription("Cron schedule of the purge, in UTC") String schedule,
      @JsonPropertyDescription("Data older than this is deleted, e.g. 30d") String ttl,
      @JsonPropertyDescription("When a purge last succeeded (from the CronJob)") String lastSuccessfulPurge,
      @JsonPropertyDescription("The most recent purge Job") String lastJob,
      @JsonPropertyDescription("Succeeded, Failed or Running") String lastJobOutcome,
      @JsonPropertyDescription("Rows, files (or what the app reported) the last finished run deleted") Long lastDeleted,
      @JsonPropertyDescription("The cutoff of the last finished run: data older than this was deleted") String lastCutoff,
      @JsonPropertyDescription("Why the last finished run failed, as the purge runner reported it") String lastError) {}

  /** Checklist summary: passed/total plus the names of the items that fail. */
  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  public static class Checklist {
    @JsonPropertyDescription("How many checklist defaults hold for this app right now.")
    private Integer passed;
    @JsonPropertyDescription("How many checklist defaults there are.")
    private Integer total;
    @JsonPropertyDescription("passed/total, for kubectl get.")
    private String summary;
    @JsonPropertyDescription("Checklist items this app does not meet.")
    private List<String> failing = new ArrayList<>();
    @JsonPropertyDescription("Checklist items relaxed by an override.")
    private List<String> relaxed = new ArrayList<>();

    public Checklist() {}

    public Checklist(int passed, int total, List<String> failing, List<String> relaxed) {
      this.passed = passed;
      this.total = total;
      this.summary = passed + "/" + total;
      this.failing = new ArrayList<>(failing);
      this.relaxed = new ArrayList<>(relaxed);
    }

    public Integer getPassed() { return passed; }
    public void setPassed(Integer passed) { this.passed = passed; }
    public Integer getTotal() { return total; }
    public void setTotal(Integer total) { this.total = total; }
    public String getSummary() { return summary; }
    public void setSummary(String summary) { this.summary = summary; }
    public List<String> getFailing() { return failing; }
    public void setFailing(List<String> failing) { this.failing = failing; }
    public List<String> getRelaxed() { return relaxed; }
    public void setRelaxed(List<String> relaxed) { this.relaxed = relaxed; }

    @Override
    public boolean equals(Object o) {
      return o instanceof Checklist c && Objects.equals(passed, c.passed) && Objects.equals(total, c.total)
          && Objects.equals(summary, c.summary) && Objects.equals(nullToEmpty(failing), nullToEmpty(c.failing))
          && Objects.equals(nullToEmpty(relaxed), nullToEmpty(c.relaxed));
    }

    @Override
    public int hashCode() {
      return Objects.hash(passed, total, summary);
    }

    private static List<String> nullToEmpty(List<String> l) {
      return l == null ? List.of() : l;
    }
  }
}
