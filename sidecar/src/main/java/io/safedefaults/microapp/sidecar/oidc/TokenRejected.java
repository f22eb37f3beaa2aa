package io.safedefaults.microapp.sidecar.oidc;

/**
 * A token that must not be believed. The reason is a short, fixed word (a metrics label and an
 * audit field), never the token or its claims.
 */
public final class TokenRejected extends Exception {
  private final String reason;

  public TokenRejected(String reason) {
    super(reason, null, false, false);
    this.reason = reason;
  }

  public String reason() {
    return reason;
  }
}
