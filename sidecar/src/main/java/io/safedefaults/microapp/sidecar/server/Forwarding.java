package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.http.ForwardedHeaders;
import io.safedefaults.microapp.sidecar.http.IdentityHeaders;
import io.safedefaults.microapp.sidecar.purge.PurgeSignature;
import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Hands a request the steps let through to the app (checklist 1): what the client claimed about
 * itself is removed (identity headers, the forwarding family, hop-by-hop names, the sidecar's own
 * cookies), and only what the sidecar verified is added: the forwarding headers and, when someone
 * signed in, who they are.
 */
final class Forwarding {
  static final String PURGE_JOB = "purge-job";

  private final ForwardedHeaders forwarded;

  Forwarding(ForwardedHeaders forwarded) {
    this.forwarded = forwarded;
  }

  /**
   * The client's address for limits and logs: the peer, or the client a trusted proxy names
   * (ForwardedHeaders).
   */
  String clientAddress(InetAddress peer, MultiMap headers) {
    return forwarded.clientAddress(peer, headers);
  }

  /** The last step: the app answers from here on. */
  Future<Boolean> toApp(RequestScope rq) {
    HttpServerRequest req = rq.req;
    MultiMap h = req.headers();
    removeConnectionListed(h);
    IdentityHeaders.strip(h);
    if (!PURGE_JOB.equals(rq.user)) {
      h.remove(PurgeSignature.HEADER); // only the purge job's call, checked against its token, carries one
    }
    HostAndPort authority = req.authority();
    forwarded.rewrite(h, rq.peer, authority == null ? null : authority.toString());
    if (rq.identity != null) {
      IdentityHeaders.add(h, rq.identity);
    }
    List<String> cookieHeaders = h.getAll("Cookie");
    if (!cookieHeaders.isEmpty()) {
      String rest = CookieJar.withoutOwnCookies(cookieHeaders);
      h.remove("Cookie");
      if (!rest.isEmpty()) {
        h.set("Cookie", rest);
      }
    }
    rq.outcome = "proxied";
    rq.proxy.handle(req);
    return Step.DONE;
  }

  /** RFC 9110 7.6.1: headers named in Connection are hop-by-hop; identity headers are re-added after. */
  private static void removeConnectionListed(MultiMap h) {
    List<String> listed = new ArrayList<>();
    for (String value : h.getAll("Connection")) {
      for (String token : value.split(",")) {
        String t = token.trim();
        if (!t.isEmpty() && !t.equalsIgnoreCase("upgrade") && !t.equalsIgnoreCase("keep-alive")
            && !t.equalsIgnoreCase("close")) {
          listed.add(t);
        }
      }
    }
    listed.forEach(h::remove);
  }
}
