package io.safedefaults.microapp.sidecar.server;

import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.safedefaults.microapp.sidecar.http.SecureHeaders;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import java.util.List;

/**
 * The HTTP/1.1 message rules (RFC 9112) the sidecar enforces before anything reads a request, in
 * one place. A request whose framing a proxy in front might read differently is refused, and the
 * connection that carried it is closed after the answer, so bytes left in it are never read as a
 * request of their own.
 */
final class StrictHttp {
  private StrictHttp() {}

  /** Why a request is refused: the status, a short error code and one sentence for the client. */
  record Refusal(int status, String error, String message) {}

  /**
   * The first step: answers a request that breaks the rules, and marks the connection to close
   * after the answer when the request was refused or chunked.
   */
  static Future<Boolean> enforce(RequestScope rq) {
    Refusal refusal = check(rq.req);
    rq.close = refusal != null || mustClose(rq.req);
    if (rq.close) {
      rq.req.response().putHeader("Connection", "close");
    }
    if (refusal == null) {
      return Step.NEXT;
    }
    rq.outcome = "bad_request";
    Replies.json(rq.req, refusal.status(), refusal.error(), refusal.message());
    return Step.DONE;
  }

  /** @return the refusal, or null when the request may go on */
  private static Refusal check(HttpServerRequest req) {
    MultiMap h = req.headers();
    List<String> hosts = h.getAll("Host");
    if (hosts.size() > 1 || (hosts.isEmpty() && req.version() != HttpVersion.HTTP_1_0)) {
      return new Refusal(400, "bad_request", "An HTTP/1.1 request needs exactly one Host header.");
    }
    List<String> codings = h.getAll("Transfer-Encoding");
    if (codings.size() > 1 || (codings.size() == 1 && !codings.get(0).trim().equalsIgnoreCase("chunked"))) {
      return new Refusal(501, "not_implemented", "The only transfer coding accepted is a single 'chunked'.");
    }
    if (!codings.isEmpty() && h.contains("Content-Length") || h.getAll("Content-Length").size() > 1) {
      return new Refusal(400, "bad_request", "The request's length is given in more than one way.");
    }
    if (h.getAll("Authorization").size() > 1) {
      return new Refusal(400, "bad_request", "A request may carry one Authorization header.");
    }
    return null;
  }

  /**
   * Whether the connection must close after this request's answer. RFC 9112 requires it after a
   * request with both Transfer-Encoding and Content-Length; the HTTP decoder drops the
   * Content-Length of such a request before the sidecar sees it, so every chunked request closes
   * its connection (chunked uploads are rare; the cost is one reconnect).
   */
  private static boolean mustClose(HttpServerRequest req) {
    return req.headers().contains("Transfer-Encoding");
  }

  /**
   * Answers a request the HTTP decoder could not read (too long a line or headers, bad syntax)
   * with the status the decoder's failure calls for, the secure headers every answer carries, and
   * a closed connection.
   */
  static void invalid(HttpServerRequest req, SecureHeaders secure) {
    Throwable cause = req.decoderResult().cause();
    int status = cause instanceof TooLongHttpLineException ? 414
        : cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException ? 431 : 400;
    var rsp = req.response();
    rsp.setStatusCode(status);
    secure.apply(rsp.headers());
    rsp.putHeader("Cache-Control", "no-store").putHeader("Connection", "close");
    rsp.end().onComplete(v -> req.connection().close());
  }
}
