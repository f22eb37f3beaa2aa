package io.safedefaults.microapp.sidecar.server;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/**
 * The sidecar's own answers: short JSON for API clients, a tiny HTML page for browsers, no caching.
 * Messages are fixed sentences, never echoing request input (no reflected content).
 */
final class Replies {
  private Replies() {}

  static void json(HttpServerRequest req, int status, String error, String message) {
    HttpServerResponse rsp = prepare(req, status);
    rsp.putHeader("Content-Type", "application/json; charset=utf-8");
    rsp.end("{\"error\":\"" + error + "\",\"message\":\"" + message.replace("\"", "'") + "\"}\n");
  }

  static void html(HttpServerRequest req, int status, String title, String message) {
    HttpServerResponse rsp = prepare(req, status);
    rsp.putHeader("Content-Type", "text/html; charset=utf-8");
    rsp.end("<!doctype html><html><head><meta charset=\"utf-8\"><title>" + title + "</title></head><body><h1>" + title
        + "</h1><p>" + message + "</p></body></html>\n");
  }

  /** Browsers get HTML, everything else JSON. */
  static void error(HttpServerRequest req, boolean browser, int status, String error, String title, String message) {
    if (browser) {
      html(req, status, title, message);
    } else {
      json(req, status, error, message);
    }
  }

  /** The page a GET of the logout path shows: one button that POSTs there from this origin. */
  static void logoutPage(HttpServerRequest req, String logoutPath) {
    HttpServerResponse rsp = prepare(req, 200);
    rsp.putHeader("Content-Type", "text/html; charset=utf-8");
    rsp.end("<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign out</title></head><body><h1>Sign out"
        + "</h1><form method=\"post\" action=\"" + logoutPath + "\"><button type=\"submit\">Sign out of this app"
        + "</button></form></body></html>\n");
  }

  static void redirect(HttpServerRequest req, String location) {
    HttpServerResponse rsp = prepare(req, 302);
    rsp.putHeader("Location", location);
    rsp.end();
  }

  /**
   * After sign-in the browser must re-request the app from our own page: a SameSite=Strict cookie
   * set during a redirect chain that started at the provider would not be sent on a plain 302, and
   * the user would loop back to sign-in.
   */
  static void continueTo(HttpServerRequest req, String relativeTarget) {
    HttpServerResponse rsp = prepare(req, 200);
    rsp.putHeader("Content-Type", "text/html; charset=utf-8");
    String href = relativeTarget.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;");
    rsp.end("<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url=" + href
        + "\"><title>Signed in</title></head><body><p>Signed in. <a href=\"" + href + "\">Continue</a></p></body></html>\n");
  }

  private static HttpServerResponse prepare(HttpServerRequest req, int status) {
    // a request we refuse may still be sending its body; read and discard it
    req.resume();
    HttpServerResponse rsp = req.response();
    rsp.setStatusCode(status);
    rsp.putHeader("Cache-Control", "no-store");
    return rsp;
  }
}
