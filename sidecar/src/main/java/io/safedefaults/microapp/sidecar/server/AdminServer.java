package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.net.URI;
import java.util.function.BooleanSupplier;

/**
 * The admin port (4181): liveness, readiness and Prometheus metrics, kept off the app port so the
 * Service (which targets only 4180) never exposes them.
 */
final class AdminServer {
  private final Vertx vertx;
  private final int port;
  private final SidecarMetrics metrics;
  private final BooleanSupplier started;
  private final URI upstream;
  private NetClient net;
  private HttpServer server;

  AdminServer(Vertx vertx, int port, SidecarMetrics metrics, BooleanSupplier started, URI upstream) {
    this.vertx = vertx;
    this.port = port;
    this.metrics = metrics;
    this.started = started;
    this.upstream = upstream;
  }

  Future<HttpServer> start() {
    net = vertx.createNetClient(new NetClientOptions().setConnectTimeout(1_000));
    server = vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost("0.0.0.0"));
    server.requestHandler(req -> {
      req.response().putHeader("Cache-Control", "no-store");
      switch (req.path()) {
        case "/healthz" -> req.response().putHeader("Content-Type", "text/plain").end("ok\n");
        case "/readyz" -> {
          if (!started.getAsBoolean()) {
            req.response().setStatusCode(503).putHeader("Content-Type", "text/plain").end("starting\n");
            return;
          }
          // ready only when the app behind us accepts connections, so no traffic meets a 502
          net.connect(upstream.getPort(), upstream.getHost()).onComplete(ar -> {
            if (ar.succeeded()) {
              ar.result().close();
              req.response().putHeader("Content-Type", "text/plain").end("ready\n");
            } else {
              req.response().setStatusCode(503).putHeader("Content-Type", "text/plain").end("app not reachable\n");
            }
          });
        }
        case "/metrics" -> req.response()
            .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            .end(metrics.scrape());
        default -> req.response().setStatusCode(404).end();
      }
    });
    return server.listen();
  }

  Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }
}
