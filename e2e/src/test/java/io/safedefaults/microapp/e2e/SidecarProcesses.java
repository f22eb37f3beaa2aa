package io.safedefaults.microapp.e2e;

import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Running the real sidecar outside a cluster, as SidecarWiringIT (the jar) and ContainerImageIT
 * (the image) do: ports the operator chose that this machine already uses, and waiting for
 * readiness with the sidecar's own output in the failure.
 */
final class SidecarProcesses {
  private SidecarProcesses() {}

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Moves listenPort and adminPort of a sidecar config to free ports where the operator's are taken
   * on this machine (a pod has its own network namespace, a test process does not).
   *
   * @return what was moved, "field old -> new", empty when nothing was
   */
  static List<String> moveTakenPorts(ObjectNode config) {
    List<String> edits = new ArrayList<>();
    for (String field : List.of("listenPort", "adminPort")) {
      int port = config.get(field).asInt();
      if (!bindable(port)) {
        int free = freePort();
        config.set(field, IntNode.valueOf(free));
        edits.add(field + " " + port + " -> " + free);
      }
    }
    return edits;
  }

  /** Polls /readyz on the admin port for up to 60 s; fails with the sidecar's stderr and stdout. */
  static void awaitReady(String what, Process sidecar, HttpClient http, int adminPort, Path stdout, Path stderr)
      throws Exception {
    HttpRequest readyz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/readyz"))
        .timeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!sidecar.isAlive()) {
        throw new AssertionError(what + " exited with " + sidecar.exitValue() + " before it was ready; stderr:\n"
            + Files.readString(stderr) + "\nstdout:\n" + Files.readString(stdout));
      }
      try {
        HttpResponse<String> r = http.send(readyz, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
        last = r.statusCode() + " " + r.body().strip();
      } catch (IOException notYet) {
        last = notYet.toString();
      }
      Thread.sleep(200);
    }
    throw new AssertionError(what + "'s /readyz was not 200 within 60 s (last: " + last + "); stderr:\n"
        + Files.readString(stderr));
  }
}
