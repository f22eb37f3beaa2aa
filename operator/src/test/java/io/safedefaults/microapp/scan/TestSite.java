package io.safedefaults.microapp.scan;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * A deployed app as the scan sees it, on real sockets: the JDK's HTTPS server standing in for the
 * ingress controller and the sidecar behind it, and a plain HTTP server for the redirect. It
 * answers like the real sidecar does (SignInIT, ExamplesIT) unless a test breaks one thing in
 * {@link Behaviour}.
 */
final class TestSite implements AutoCloseable {
  static final String HOST = "app.scan.test";

  /** What the site does; each field as the sidecar and the operator's Ingress do it, until a test changes it. */
  static final class Behaviour {
    final Map<String, String> headers = new LinkedHashMap<>(Map.of(
        "Strict-Transport-Security", "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options", "nosniff",
        "Referrer-Policy", "strict-origin-when-cross-origin",
        "X-Frame-Options", "DENY",
        "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"));
    /** what / answers a browser: the sidecar sends it to the provider */
    int browserRoot = 302;
    /** what / answers an API client */
    int apiRoot = 401;
    /** the admin path's redirect asks for a fresh multi-factor sign-in */
    boolean stepUp = true;
    /** what /admin answers an anonymous browser */
    int admin = 302;
    /** what plain HTTP answers; its Location is {@link #httpLocation} ({@code null}: the HTTPS site's root) */
    int http = 308;
    String httpLocation;
    /** TLS protocols the HTTPS server allows; null for the JDK's defaults */
    String[] protocols;
  }

  final Behaviour behaviour;
  private final HttpsServer https;
  private final HttpServer http;

  TestSite(SSLContext tls, Behaviour behaviour) throws IOException {
    this.behaviour = behaviour;
    InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    https = HttpsServer.create(any, 0);
    https.setHttpsConfigurator(new HttpsConfigurator(tls) {
      @Override
      public void configure(HttpsParameters params) {
        var p = tls.getDefaultSSLParameters();
        if (behaviour.protocols != null) {
          p.setProtocols(behaviour.protocols);
        }
        params.setSSLParameters(p);
      }
    });
    https.createContext("/", this::app);
    http = HttpServer.create(any, 0);
    http.createContext("/", this::plain);
    https.start();
    http.start();
  }

  int httpsPort() {
    return https.getAddress().getPort();
  }

  int httpPort() {
    return http.getAddress().getPort();
  }

  String url() {
    return "https://" + HOST + ":" + httpsPort();
  }

  private void app(HttpExchange x) throws IOException {
    behaviour.headers.forEach((k, v) -> x.getResponseHeaders().add(k, v));
    String path = x.getRequestURI().getRawPath();
    boolean browser = String.valueOf(x.getRequestHeaders().getFirst("Accept")).contains("text/html");
    String login = "https://login.scan.test/realms/acme/authorize?response_type=code&client_id=app&state=s3cr3t-state";
    int status;
    if (path.startsWith("/admin")) {
      status = behaviour.admin;
      if (status / 100 == 3) {
        x.getResponseHeaders().add("Location", login + (behaviour.stepUp ? "&prompt=login&max_age=0" : ""));
      }
    } else if (browser) {
      status = behaviour.browserRoot;
      if (status / 100 == 3) {
        x.getResponseHeaders().add("Location", login);
      }
    } else {
      status = behaviour.apiRoot;
      if (status == 401) {
        x.getResponseHeaders().add("WWW-Authenticate", "Bearer");
      }
    }
    byte[] body = (status == 200 ? "<h1>the app's own page</h1>" : "").getBytes(StandardCharsets.UTF_8);
    x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    x.getResponseBody().write(body);
    x.close();
  }

  private void plain(HttpExchange x) throws IOException {
    if (behaviour.http / 100 == 3) {
      x.getResponseHeaders().add("Location", behaviour.httpLocation != null ? behaviour.httpLocation
          : "https://" + HOST + ":" + httpsPort() + x.getRequestURI());
    }
    byte[] body = (behaviour.http == 200 ? "<h1>the app over plain HTTP</h1>" : "").getBytes(StandardCharsets.UTF_8);
    x.sendResponseHeaders(behaviour.http, body.length == 0 ? -1 : body.length);
    x.getResponseBody().write(body);
    x.close();
  }

  @Override
  public void close() {
    https.stop(0);
    http.stop(0);
  }
}
