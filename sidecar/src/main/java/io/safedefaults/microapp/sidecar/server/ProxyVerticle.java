package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.http.PathRejected;
import io.safedefaults.microapp.sidecar.http.RequestPath;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.httpproxy.HttpProxy;
import io.vertx.httpproxy.ProxyContext;
import io.vertx.httpproxy.ProxyInterceptor;
import io.vertx.httpproxy.ProxyOptions;
import io.vertx.httpproxy.ProxyRequest;
import io.vertx.httpproxy.ProxyResponse;
import java.net.URI;
import java.util.function.Function;

/**
 * One event loop's share of the app port: an HTTP server, a pooled keep-alive client to the app and
 * vertx-http-proxy between them (streaming bodies, hop-by-hop headers, WebSocket upgrades). Several
 * instances share the port, one per core.
 */
final class ProxyVerticle extends VerticleBase {
  private final int port;
  private final URI upstream;
  private final Gatekeeper gatekeeper;
  private final SidecarMetrics metrics;
  private final Function<RequestPath, String> appTarget;
  private HttpServer server;

  ProxyVerticle(int port, URI upstream, Gatekeeper gatekeeper, SidecarMetrics metrics,
      Function<RequestPath, String> appTarget) {
    this.port = port;
    this.upstream = upstream;
    this.gatekeeper = gatekeeper;
    this.metrics = metrics;
    this.appTarget = appTarget;
  }

  @Override
  public Future<?> start() {
    var client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(5_000),
        new PoolOptions().setHttp1MaxSize(64));
    HttpProxy proxy = HttpProxy.reverseProxy(new ProxyOptions().setSupportWebSocket(true), client)
        .origin(upstream.getPort(), upstream.getHost());
    proxy.addInterceptor(new ForwardCanonicalRequest(metrics, appTarget), true);
    server = vertx.createHttpServer(new HttpServerOptions()
        .setPort(port)
        .setHost("0.0.0.0")
        .setMaxHeaderSize(32 * 1024) // a 4 KB session cookie plus a bearer token plus the app's cookies
        .setIdleTimeout(120)
        .setCompressionSupported(false)
        .setHttp2ClearTextEnabled(false)); // the ingress speaks HTTP/1.1 to pods; less protocol, less surface
    server.requestHandler(req -> gatekeeper.handle(req, proxy));
    server.invalidRequestHandler(req -> StrictHttp.invalid(req, gatekeeper.secureHeaders()));
    return server.listen();
  }

  /**
   * Sends the app exactly the path the decision was made on (see RequestPath) and keeps the
   * client's Host, so the app's absolute links stay right.
   */
  private static final class ForwardCanonicalRequest implements ProxyInterceptor {
    private final SidecarMetrics metrics;
    private final Function<RequestPath, String> appTarget;

    ForwardCanonicalRequest(SidecarMetrics metrics, Function<RequestPath, String> appTarget) {
      this.metrics = metrics;
      this.appTarget = appTarget;
    }

    @Override
    public Future<ProxyResponse> handleProxyRequest(ProxyContext context) {
      ProxyRequest request = context.request();
      HttpServerRequest incoming = request.proxiedRequest();
      try {
        request.setURI(appTarget.apply(RequestPath.parse(incoming.uri())));
      } catch (PathRejected e) {
        return Future.failedFuture(e); // unreachable: the gatekeeper rejected it already
      }
      if (incoming.authority() != null) {
        request.setAuthority(incoming.authority());
      }
      context.set("started", System.nanoTime());
      return context.sendRequest();
    }

    @Override
    public Future<Void> handleProxyResponse(ProxyContext context) {
      Long started = context.get("started", Long.class);
      if (started != null) {
        metrics.upstreamLatency(System.nanoTime() - started);
      }
      return context.sendResponse();
    }
  }
}
