package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.http.PathPattern;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The app's purge endpoint deletes old data for everyone (checklist 8), so only the purge CronJob
 * may call it: {@code Authorization: Bearer <token>} with the token the operator generated for this
 * app. Signed-in people, administrators included, get 403 there.
 */
final class PurgeGate {
  private final PathPattern path; // null when no HTTP purge is scheduled
  private final byte[] token;
  private final AuditLog audit;
  private final SidecarMetrics metrics;
  private final Forwarding forwarding;

  /** @param path null when no HTTP purge is scheduled: then no path is the purge path */
  PurgeGate(String path, String token, Observability seen, Forwarding forwarding) {
    this.path = path == null ? null : PathPattern.compile(path);
    this.token = token == null ? null : token.getBytes(StandardCharsets.US_ASCII);
    this.audit = seen.audit();
    this.metrics = seen.metrics();
    this.forwarding = forwarding;
  }

  /** The purge path answers the purge job alone, and the job's token never reaches the app. */
  Future<Boolean> jobOnly(RequestScope rq) {
    if (path == null || !path.matches(rq.path())) {
      return Step.NEXT;
    }
    HttpServerRequest req = rq.req;
    if (!authorised(rq.authorization)) {
      metrics.authFailure("purge_token_invalid");
      rq.outcome = "forbidden";
      audit.denied("purge_token_invalid", rq.user, rq.method(), rq.path());
      Replies.json(req, 403, "forbidden", "This endpoint is reserved for the scheduled purge job.");
      return Step.DONE;
    }
    rq.user = Forwarding.PURGE_JOB;
    audit.purge(rq.method());
    req.headers().remove("Authorization"); // the app never needs the job's token
    return forwarding.toApp(rq);
  }

  private boolean authorised(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    return MessageDigest.isEqual(token, authorization.substring(7).trim().getBytes(StandardCharsets.US_ASCII));
  }
}
