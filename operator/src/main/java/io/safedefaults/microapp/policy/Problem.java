package io.safedefaults.microapp.policy;

/**
 * Something admission could not catch. The message is one sentence naming the field and the fix.
 *
 * @param blocksExposure true when the app must not get an Ingress (auth or TLS cannot be set up)
 */
public record Problem(Area area, String reason, String message, boolean blocksExposure) {

  /**
   * Checklist area a problem belongs to; it decides which condition turns False. NAME and SPEC are
   * fatal: no child is created at all.
   */
  public enum Area { NAME, SPEC, AUTH, TLS, RATE_LIMIT, RETENTION, OVERRIDES }
}
