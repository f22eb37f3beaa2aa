package io.safedefaults.microapp.sidecar.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import java.util.Locale;

/**
 * Cross-site request refusal for requests a browser authenticates with the session cookie. Every
 * app lives under one parent domain, so sibling apps are one "site" to a browser and
 * SameSite=Strict does not stop a page on another app from posting here with the user's cookie.
 * An unsafe method or a WebSocket upgrade is therefore let through only when the browser says it
 * came from this origin: {@code Sec-Fetch-Site: same-origin} (a header pages cannot set), or, from
 * a browser that does not send it, an {@code Origin} equal to the app's own. A request with
 * neither is refused too: browsers send one of them on every such request. Bearer-token requests
 * carry no ambient credential and are not checked.
 */
public final class SameOrigin {
  private SameOrigin() {}

  /**
   * @param appOrigin the app's origin, e.g. {@code https://where2eat.apps.example.com}
   * @return true when the request may go on
   */
  public static boolean allows(HttpMethod method, MultiMap headers, String appOrigin) {
    boolean upgrade = "websocket".equalsIgnoreCase(headers.get("Upgrade"));
    if (!upgrade && (method == HttpMethod.GET || method == HttpMethod.HEAD || method == HttpMethod.OPTIONS)) {
      return true;
    }
    String site = headers.get("Sec-Fetch-Site");
    if (site != null) {
      return site.trim().equalsIgnoreCase("same-origin");
    }
    String origin = headers.get("Origin");
    return origin != null && appOrigin != null && origin.trim().toLowerCase(Locale.ROOT).equals(appOrigin);
  }

  /** scheme://host[:port] of a URL, lower-cased, without a default port; null when there is none. */
  public static String originOf(String url) {
    if (url == null) {
      return null;
    }
    java.net.URI u = java.net.URI.create(url);
    if (u.getScheme() == null || u.getHost() == null) {
      return null;
    }
    String scheme = u.getScheme().toLowerCase(Locale.ROOT);
    boolean defaultPort = u.getPort() < 0 || (scheme.equals("https") && u.getPort() == 443)
        || (scheme.equals("http") && u.getPort() == 80);
    return scheme + "://" + u.getHost().toLowerCase(Locale.ROOT) + (defaultPort ? "" : ":" + u.getPort());
  }
}
