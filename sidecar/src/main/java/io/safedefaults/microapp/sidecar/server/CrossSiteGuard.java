package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.http.SameOrigin;

/**
 * Refuses requests a page on another site made with this app's session cookie (SameOrigin says
 * which), with 403 {@code cross_site_request}: for every cookie-authenticated request, and for
 * signing out, which changes state like any other unsafe request.
 */
final class CrossSiteGuard {
  private final String publicOrigin; // null when no publicUrl: the request's own authority is the origin
  private final AuditLog audit;
  private final SidecarMetrics metrics;

  CrossSiteGuard(String publicUrl, Observability seen) {
    this.publicOrigin = SameOrigin.originOf(publicUrl);
    this.audit = seen.audit();
    this.metrics = seen.metrics();
  }

  /** @return true when the request may go on; otherwise it was answered with 403 */
  boolean admits(RequestScope rq) {
    String appOrigin = publicOrigin != null ? publicOrigin : SameOrigin.originOf("http://" + rq.req.authority());
    if (SameOrigin.allows(rq.req.method(), rq.req.headers(), appOrigin)) {
      return true;
    }
    rq.outcome = "forbidden";
    metrics.authFailure("cross_site");
    audit.denied("cross_site", rq.user, rq.method(), rq.path());
    Replies.error(rq.req, rq.browser, 403, "cross_site_request", "Request refused",
        "This request came from another site. Open the app and try again from there.");
    return false;
  }
}
