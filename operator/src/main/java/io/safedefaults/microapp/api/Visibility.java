package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Who may reach an app (checklist 1). */
public enum Visibility {
  @JsonProperty("private") PRIVATE,
  @JsonProperty("organization") ORGANIZATION,
  @JsonProperty("public") PUBLIC;

  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
