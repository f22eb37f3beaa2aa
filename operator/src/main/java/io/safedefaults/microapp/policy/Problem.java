package io.safedefaults.microapp.policy;

/**
 * Something admission could not catch. The message is one sentence naming the field and the fix.
 *
 * @param blocksExposure true when the app must not get an Ingress (auth or TLS cannot be set up)
 * @param audited a policy in audit mode let this through: see {@link #audit}
 */
public record Problem(Area area, String reason, String message, boolean blocksExposure, boolean audited) {

  public Problem(Area area, String reason, String message, boolean blocksExposure) {
    this(area, reason, message, blocksExposure, false);
  }

  /**
   * A violation of a policy in audit mode: what the app asked for was applied, nothing is blocked,
   * and the checklist item it belongs to fails so that status and reports show it.
   */
  public static Problem audit(Area area, String reason, String message) {
    return new Problem(area, reason, message, false, true);
  }

  /**
   * Checklist area a problem belongs to; it decides which condition turns False. NAME and SPEC are
   * fatal: no child is created at all. HOST (the host is another app's or outside the allowed
   * domains) belongs to no checklist item: it keeps the app unexposed and Ready False.
   */
  public enum Area { NAME, SPEC, HOST, AUTH, TLS, RATE_LIMIT, LEAST_PRIVILEGE, RETENTION, OVERRIDES, IMAGE_SCAN, APPROVAL }
}
