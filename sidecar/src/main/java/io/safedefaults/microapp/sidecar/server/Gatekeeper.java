package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.audit.UserIdHasher;
import io.safedefaults.microapp.sidecar.http.PathRejected;
import io.safedefaults.microapp.sidecar.http.RequestPath;
import io.safedefaults.microapp.sidecar.http.SecureHeaders;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.httpproxy.HttpProxy;
import java.net.InetAddress;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Decides, for every request on the app port, whether it reaches the app (checklists 1-5, 8): the
 * steps below, in this order, each of which lets the request on or answers it. Every answer, the
 * app's included, gets the secure headers and the RateLimit-* headers of the tightest budget, and
 * leaves one access-log line.
 */
final class Gatekeeper {
  private static final String ACME_PREFIX = "/.well-known/acme-challenge/";
  private static final Pattern ACME_TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,256}");

  private final SecureHeaders secureHeaders;
  private final Forwarding forwarding;
  private final UserIdHasher ids;
  private final AuditLog audit;
  private final SidecarMetrics metrics;
  private final Step[] steps;

  Gatekeeper(SecureHeaders secureHeaders, SignInRoutes signIn, PurgeGate purge, Authenticator authenticator,
      Authorisation authorisation, RequestLimits limits, Forwarding forwarding, Observability seen) {
    this.secureHeaders = secureHeaders;
    this.forwarding = forwarding;
    this.ids = seen.ids();
    this.audit = seen.audit();
    this.metrics = seen.metrics();
    this.steps = new Step[] {
        StrictHttp::enforce,                  // 0. RFC 9112 message rules; a refused request closes its connection
        this::readablePath,                   // 1. one reading of the path, which every later step uses
        this::readClient,                     //    peer (or the client a trusted proxy names), credentials, browser?
        limits::perIp,                        // 2. per-IP budget, before sign-in so floods of bad tokens count
        signIn::callback,                     // 3. the provider's redirect back after sign-in
        signIn::logout,                       // 3. /oauth2/logout
        purge::jobOnly,                       // 3. the purge path: the purge job's token only
        this::acmeChallenge,                  // 3. cert-manager's HTTP-01 token: no sign-in
        authenticator::identify,              // 4. bearer token or session cookie; 401 for a rejected token
        authorisation::anonymous,             // 4. nobody signed in: public paths, a sign-in redirect, or 401
        authorisation::sameOrigin,            // 4a. the session cookie from another site: 403
        authorisation::allowedAccount,        // 5. allowed group or e-mail domain: 403
        authorisation::ownDataMethod,         //    export with GET, delete with POST/DELETE: 405
        limits::perUser,                      // 6. per-user budget and path or own-data quota: 429
        authorisation::secondFactor,          // 7. MFA on admin paths: step-up or 403
        authorisation::auditAdminAction,      //    exports, deletes, admin paths audited
        forwarding::toApp,                    // 8. identity headers rebuilt, then the app answers
    };
  }

  void handle(HttpServerRequest req, HttpProxy proxy) {
    req.pause(); // nothing of the body moves until we decided; the proxy resumes it
    RequestScope rq = new RequestScope(req, proxy);
    HttpServerResponse rsp = req.response();
    rsp.headersEndHandler(v -> {
      secureHeaders.apply(rsp.headers());
      if (rq.limit != null) {
        rq.limit.writeHeaders(rsp.headers());
      }
    });
    rsp.endHandler(v -> {
      finish(rq);
      if (rq.close) {
        req.connection().close();
      }
    });
    Step.run(rq, steps);
  }

  private Future<Boolean> readablePath(RequestScope rq) {
    try {
      rq.path = RequestPath.parse(rq.req.uri());
      return Step.NEXT;
    } catch (PathRejected e) {
      rq.outcome = "bad_request";
      audit.denied("path_rejected", rq.user, rq.method(), null);
      Replies.json(rq.req, 400, "bad_request", "The request path cannot be interpreted safely: " + e.getMessage() + ".");
      return Step.DONE;
    }
  }

  private Future<Boolean> readClient(RequestScope rq) {
    HttpServerRequest req = rq.req;
    rq.peer = peerAddress(req);
    rq.client = forwarding.clientAddress(rq.peer, req.headers());
    rq.authorization = req.getHeader("Authorization");
    String accept = req.getHeader("Accept");
    rq.browser = rq.authorization == null && accept != null && accept.toLowerCase(Locale.ROOT).contains("text/html");
    return Step.NEXT;
  }

  /**
   * cert-manager's HTTP-01 solver fetches one token (RFC 8555 8.3: a single base64url segment) with
   * GET; nothing else under the prefix, no other method and no deeper path skips sign-in. Decided on
   * the normalised path, so /.well-known/acme-challenge/../../admin is /admin and not skipped.
   */
  private Future<Boolean> acmeChallenge(RequestScope rq) {
    HttpMethod method = rq.req.method();
    String path = rq.path();
    boolean challenge = (method == HttpMethod.GET || method == HttpMethod.HEAD) && path.startsWith(ACME_PREFIX)
        && ACME_TOKEN.matcher(path.substring(ACME_PREFIX.length())).matches();
    return challenge ? forwarding.toApp(rq) : Step.NEXT;
  }

  SecureHeaders secureHeaders() {
    return secureHeaders;
  }

  private void finish(RequestScope rq) {
    metrics.request(rq.outcome);
    long micros = (System.nanoTime() - rq.started) / 1000;
    audit.access(rq.method(), rq.path == null ? null : rq.path(), rq.req.response().getStatusCode(), micros, rq.outcome,
        rq.user, ids.hashAddress(rq.client));
  }

  private static InetAddress peerAddress(HttpServerRequest req) {
    try {
      return req.remoteAddress() == null || req.remoteAddress().hostAddress() == null ? null
          : InetAddress.getByName(req.remoteAddress().hostAddress());
    } catch (Exception e) {
      return null;
    }
  }
}
