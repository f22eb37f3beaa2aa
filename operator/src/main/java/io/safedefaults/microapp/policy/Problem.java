package io.safedefaults.microapp.policy;

/**
 * Something admission could not catch. The message is one sentence naming the field and the fix.
 *
 * @param blocksExposure true when the app must not get an Ingress (auth or TLS cannot be set up)
 */
public record Problem(Area area, String reason, String message, boolean blocksExposure) {

  /** Checklist area a problem belongs to; it decides which condition turns False. */
  public enum Area { NAME, AUTH, TLS, RATE_LIMIT, RETENTION, OVERRIDES }
}
