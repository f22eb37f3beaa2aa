package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.http.Identity;
import io.safedefaults.microapp.sidecar.http.RequestPath;
import io.safedefaults.microapp.sidecar.ratelimit.RateLimitDecision;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.httpproxy.HttpProxy;
import java.net.InetAddress;

/**
 * What the steps learn about one request, carried from the first step to the access log, so no
 * step re-reads or re-parses what an earlier one established: the one reading of the path, the
 * peer and the client it speaks for, the identity once signed in, the budget closest to running
 * out and the outcome. One per request, used only on that request's event loop.
 */
final class RequestScope {
  final HttpServerRequest req;
  final HttpProxy proxy;
  final long started = System.nanoTime();
  /** Close the connection after the answer (StrictHttp). */
  boolean close;
  /** Null until the path was read one way only (RequestPath). */
  RequestPath path;
  /** The TCP peer; null when unknown. */
  InetAddress peer;
  /** The peer, or the client a trusted proxy names: the per-IP key and the logged address. */
  String client = "unknown";
  String authorization;
  /** A browser navigation: HTML answers and sign-in redirects rather than JSON and 401. */
  boolean browser;
  /** Who is asking, once a token or session cookie was verified; null while anonymous. */
  Identity identity;
  /** The hashed user id for logs and per-user buckets. */
  String user = "anonymous";
  String outcome = "proxied";
  /** The budget closest to running out so far, sent as RateLimit-* headers. */
  RateLimitDecision limit;
  /** The person's own-data route this request is for; null for other paths. */
  UserDataRoutes.Kind ownData;

  RequestScope(HttpServerRequest req, HttpProxy proxy) {
    this.req = req;
    this.proxy = proxy;
  }

  String method() {
    return req.method().name();
  }

  /** The normalised path every decision uses. */
  String path() {
    return path.path();
  }
}
