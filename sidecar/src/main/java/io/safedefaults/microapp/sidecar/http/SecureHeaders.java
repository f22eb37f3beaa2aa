package io.safedefaults.microapp.sidecar.http;

import io.vertx.core.MultiMap;

/**
 * Security headers on every response, the app's and the sidecar's own (checklist 5). The sidecar's
 * CSP is added next to any CSP the app sends: browsers enforce both, so an app can tighten the
 * policy but only the configuration can widen it.
 */
public final class SecureHeaders {
  private final String hsts;
  private final String csp;

  public SecureHeaders(String hsts, String csp) {
    this.hsts = hsts;
    this.csp = csp;
  }

  public void apply(MultiMap headers) {
    headers.set("Strict-Transport-Security", hsts);
    headers.set("X-Content-Type-Options", "nosniff");
    headers.set("Referrer-Policy", "strict-origin-when-cross-origin");
    headers.set("X-Frame-Options", "DENY");
    if (!headers.getAll("Content-Security-Policy").contains(csp)) {
      headers.add("Content-Security-Policy", csp);
    }
    headers.remove("X-Powered-By"); // tells an attacker which exploits to try, tells a user nothing
  }
}
