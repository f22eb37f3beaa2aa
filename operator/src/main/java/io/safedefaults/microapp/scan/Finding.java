package io.safedefaults.microapp.scan;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * One result of a live scan: what was checked, how it went, what was seen and, unless it passed,
 * the fix in plain language (for the app's owner, who may not be a developer).
 */
@JsonPropertyOrder({"check", "outcome", "detail", "fix"})
public record Finding(String check, Outcome outcome, String detail, String fix) {

  public enum Outcome {
    /** the default holds */
    PASS,
    /** worth a look, not a failure (exit status 0) */
    WARN,
    /** a default does not hold (exit status 1) */
    FAIL,
    /** not checked: nothing to check, or an earlier failure made it impossible */
    SKIP
  }

  static Finding pass(String check, String detail) {
    return new Finding(check, Outcome.PASS, detail, null);
  }

  static Finding warn(String check, String detail, String fix) {
    return new Finding(check, Outcome.WARN, detail, fix);
  }

  static Finding fail(String check, String detail, String fix) {
    return new Finding(check, Outcome.FAIL, detail, fix);
  }

  static Finding skip(String check, String detail) {
    return new Finding(check, Outcome.SKIP, detail, null);
  }
}
