package io.safedefaults.microapp.sidecar.support;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;

/**
 * The app behind the sidecar in tests: a real HTTP server on loopback that answers every request
 * with what it received (method, uri, headers) as JSON, and echoes WebSocket messages.
 */
public final class EchoUpstream implements AutoCloseable {
  private final Vertx vertx = Vertx.vertx();
  private final HttpServer server;

  public EchoUpstream() throws Exception {
    server = vertx.createHttpServer()
        .webSocketHandler(ws -> ws.textMessageHandler(m -> ws.writeTextMessage("echo:" + m)))
        .requestHandler(req -> req.body().onSuccess(body -> {
          JsonObject headers = new JsonObject();
          for (String name : req.headers().names()) {
            headers.put(name.toLowerCase(java.util.Locale.ROOT), new JsonArray(req.headers().getAll(name)));
          }
          var rsp = req.response();
          rsp.putHeader("Content-Type", "application/json");
          rsp.putHeader("X-Powered-By", "EchoFramework/1.0");
          if (req.path().equals("/with-csp")) {
            rsp.putHeader("Content-Security-Policy", "script-src 'none'");
          }
          rsp.end(new JsonObject().put("method", req.method().name()).put("uri", req.uri())
              .put("headers", headers).put("body", body.toString()).encode());
        }))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  public int port() {
    return server.actualPort();
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
