package io.safedefaults.microapp.runtime;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * /healthz, /readyz and Prometheus /metrics on one port, served by the JDK's own HTTP server:
 * three read-only endpoints do not justify a web framework in the operator.
 */
public final class HealthServer implements AutoCloseable {
  private final HttpServer server;

  /** @param unready why the operator is not ready, one line each; ready when empty */
  public HealthServer(String address, int port, BooleanSupplier live, Supplier<List<String>> unready,
      Supplier<String> metrics) throws IOException {
    server = HttpServer.create(new InetSocketAddress(address, port), 16);
    server.createContext("/healthz", ex -> status(ex, live.getAsBoolean()));
    server.createContext("/readyz", ex -> {
      List<String> why = unready.get();
      respond(ex, why.isEmpty() ? 200 : 503, "text/plain",
          why.isEmpty() ? "ok\n" : why.stream().map(w -> "not ready: " + w + "\n").collect(Collectors.joining()));
    });
    server.createContext("/metrics", ex -> {
      if (!"GET".equals(ex.getRequestMethod())) {
        respond(ex, 405, "text/plain", "method not allowed\n");
        return;
      }
      respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.get());
    });
    server.setExecutor(Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "health-http");
      t.setDaemon(true);
      return t;
    }));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void status(HttpExchange ex, boolean ok) throws IOException {
    respond(ex, ok ? 200 : 503, "text/plain", ok ? "ok\n" : "not ready\n");
  }

  private static void respond(HttpExchange ex, int code, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    ex.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
