package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shaded jar as the container runs it ({@code proxy --config FILE}): a configuration it cannot
 * trust stops it at once with exit code 2 and one line on stderr; a good one serves the probes.
 */
class StartupFailureIT {
  static TestProvider provider;
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    provider = new TestProvider();
    dir = Files.createTempDirectory("sidecar-it");
    Files.writeString(dir.resolve("keyset.json"), SidecarHarness.newKeyset());
  }

  @AfterAll
  static void stop() {
    provider.close();
  }

  record Run(int exitCode, List<String> stderr) {}

  private static ObjectNode config(String issuer, String keyset) throws Exception {
    return SidecarHarness.baseConfig(issuer, 8080, SidecarHarness.freePort(), SidecarHarness.freePort(), Path.of(keyset));
  }

  private static Process launch(Object config) throws Exception {
    Path file = Files.createTempFile(dir, "config", ".json");
    Files.writeString(file, config.toString());
    String jar = System.getProperty("sidecar.jar", "target/microapp-sidecar-all.jar");
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar,
        "proxy", "--config", file.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  private static Run run(Object config) throws Exception {
    Process p = launch(config);
    boolean exited = p.waitFor(60, TimeUnit.SECONDS);
    if (!exited) {
      p.destroyForcibly();
    }
    assertThat(exited).as("the sidecar exits instead of running half-configured").isTrue();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Run(p.exitValue(), err.lines().toList());
  }

  @Test
  void aMisspeltFieldStopsTheStart() throws Exception {
    ObjectNode c = config(provider.issuer(), dir.resolve("keyset.json").toString());
    c.put("visibilty", "public");
    Run r = run(c);
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).hasSize(1);
    assertThat(r.stderr().get(0)).startsWith("microapp-sidecar: unknown field 'visibilty'");
  }

  @Test
  void aMissingKeysetStopsTheStart() throws Exception {
    Run r = run(config(provider.issuer(), dir.resolve("absent.json").toString()));
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).hasSize(1);
    assertThat(r.stderr().get(0)).contains("session keyset file").contains("does not exist");
  }

  @Test
  void anIssuerWhoseDiscoveryNamesAnotherIssuerStopsTheStart() throws Exception {
    // a provider that answers, but vouches for another issuer (a typo'd realm behind a shared host)
    com.sun.net.httpserver.HttpServer other = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    other.createContext("/realms/acme/.well-known/openid-configuration", ex -> {
      byte[] doc = ("{\"issuer\":\"https://login.example.com/realms/other\",\"authorization_endpoint\":\"https://x/a\","
          + "\"token_endpoint\":\"https://x/t\",\"jwks_uri\":\"https://x/j\"}").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, doc.length);
      ex.getResponseBody().write(doc);
      ex.close();
    });
    other.start();
    Run r;
    try {
      r = run(config("http://127.0.0.1:" + other.getAddress().getPort() + "/realms/acme", dir.resolve("keyset.json").toString()));
    } finally {
      other.stop(0);
    }
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).hasSize(1);
    assertThat(r.stderr().get(0)).contains("names issuer").contains("field 'oidc.issuer'");
  }

  @Test
  void aCaFileThatIsNotACaStopsTheStart() throws Exception {
    // the provider's own certificate where its CA belongs: the commonest mistake
    java.security.cert.X509Certificate leaf = io.safedefaults.microapp.sidecar.support.TestCa.certificate(
        io.safedefaults.microapp.sidecar.support.TestCa.Kind.SERVER, java.time.Instant.now().minusSeconds(60),
        java.time.Instant.now().plusSeconds(86400));
    Path pem = Files.writeString(dir.resolve("provider-cert.pem"), io.safedefaults.microapp.sidecar.support.TestCa.pem(leaf));
    ObjectNode c = config(provider.issuer(), dir.resolve("keyset.json").toString());
    ((ObjectNode) c.get("oidc")).put("caFile", pem.toString());
    Run r = run(c);
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).hasSize(1);
    assertThat(r.stderr().get(0)).startsWith("microapp-sidecar: field 'oidc.caFile': " + pem + " certificate 1 is not a CA");
  }

  @Test
  void anUnreachableIssuerStopsTheStart() throws Exception {
    Run r = run(config("http://127.0.0.1:" + SidecarHarness.freePort() + "/realms/acme", dir.resolve("keyset.json").toString()));
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).hasSize(1);
    assertThat(r.stderr().get(0)).contains("OIDC discovery").contains("failed");
  }

  @Test
  void aGoodConfigurationServesTheProbes() throws Exception {
    ObjectNode c = config(provider.issuer(), dir.resolve("keyset.json").toString());
    int admin = c.get("adminPort").asInt();
    Process p = launch(c);
    try {
      HttpClient http = HttpClient.newHttpClient();
      int status = 0;
      for (int i = 0; i < 100 && status != 200; i++) {
        try {
          status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/healthz")).build(),
              HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (java.io.IOException notYet) {
          Thread.sleep(200);
        }
      }
      assertThat(status).isEqualTo(200);
      // nothing listens on the app port 8080 here: not ready, so the Service sends no traffic
      assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/readyz")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
    } finally {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
    assertThat(p.exitValue()).as("SIGTERM stops it cleanly").isIn(0, 143);
  }
}
