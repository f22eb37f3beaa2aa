package io.safedefaults.microapp.e2e;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The app behind the sidecar in {@link SidecarWiringIT}: a JDK HTTP server on loopback that answers
 * every request 200 with a marker line followed by the headers it received, and records each request
 * so the test can look at exactly what the sidecar forwarded.
 */
final class RecordingUpstream implements AutoCloseable {

  /** What reached the app. Header names are lower-cased as received (underscores kept). */
  record Received(String method, String uri, Map<String, List<String>> headers) {
    List<String> header(String lowerCaseName) {
      return headers.getOrDefault(lowerCaseName, List.of());
    }

    /** Every value of every header whose name means {@code name} to a lenient app server ('_' read as '-'). */
    List<String> headerAnySpelling(String name) {
      String wanted = name.toLowerCase(Locale.ROOT).replace('_', '-');
      List<String> out = new ArrayList<>();
      headers.forEach((k, v) -> {
        if (k.replace('_', '-').equals(wanted)) {
          out.addAll(v);
        }
      });
      return out;
    }
  }

  final String marker;
  private final HttpServer server;
  private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();

  RecordingUpstream(String marker) {
    this.marker = marker;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext("/", ex -> {
      try (ex) {
        ex.getRequestBody().readAllBytes();
        Map<String, List<String>> headers = new TreeMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.computeIfAbsent(k.toLowerCase(Locale.ROOT), x -> new ArrayList<>()).addAll(v));
        received.add(new Received(ex.getRequestMethod(), ex.getRequestURI().toString(), headers));
        StringBuilder body = new StringBuilder(marker).append('\n');
        headers.forEach((k, v) -> body.append(k).append(": ").append(String.join(", ", v)).append('\n'));
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "text/plain; charset=utf-8");
        ex.sendResponseHeaders(200, bytes.length);
        ex.getResponseBody().write(bytes);
      }
    });
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** The next request the app received, or an AssertionError if none arrives within 5 s. */
  Received next() throws InterruptedException {
    Received r = received.poll(5, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("the upstream app received no request within 5 s");
    }
    return r;
  }

  /** Requests received and not yet taken with {@link #next()}. */
  List<Received> drain() {
    List<Received> out = new ArrayList<>();
    received.drainTo(out);
    return out;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
