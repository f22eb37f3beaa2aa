package io.safedefaults.microapp.status;

/** The outcome of one checklist item for one app, with a sentence a person can act on. */
public record CheckResult(Item item, Outcome outcome, String reason, String message) {

  public enum Outcome { PASSED, RELAXED, FAILED }

  /** Checklist items (numbers as in README.md, "What every app gets") and the condition that reports each. */
  public enum Item {
    SIGN_IN_REQUIRED(1, "signInRequired", Conditions.AUTH),
    MFA_FOR_ADMIN_PATHS(2, "mfaForAdminPaths", Conditions.AUTH),
    SHORT_SESSIONS(3, "shortSessions", Conditions.AUTH),
    RATE_LIMITS(4, "rateLimits", Conditions.RATE_LIMITED),
    TLS_AND_HSTS(5, "tlsAndHsts", Conditions.TLS),
    SECRETS_SEALED(6, "secretsSealed", Conditions.SECRETS_SEALED),
    LEAST_PRIVILEGE(7, "leastPrivilege", Conditions.LEAST_PRIVILEGE),
    MINIMAL_RETENTION(8, "minimalRetention", Conditions.RETENTION_SCHEDULED),
    SAFE_OVERRIDES(10, "safeOverrides", Conditions.DEFAULTS_RELAXED),
    IMAGE_SCANNED(11, "imageScanned", Conditions.IMAGE_SCANNED);

    public final int number;
    public final String key;
    public final String condition;

    Item(int number, String key, String condition) {
      this.number = number;
      this.key = key;
      this.condition = condition;
    }
  }

  public static CheckResult passed(Item item, String reason, String message) {
    return new CheckResult(item, Outcome.PASSED, reason, message);
  }

  public static CheckResult relaxed(Item item, String reason, String message) {
    return new CheckResult(item, Outcome.RELAXED, reason, message);
  }

  public static CheckResult failed(Item item, String reason, String message) {
    return new CheckResult(item, Outcome.FAILED, reason, message);
  }
}
