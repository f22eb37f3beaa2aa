package io.safedefaults.microapp.sidecar.purge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import io.safedefaults.microapp.sidecar.config.ConfigLoader;
import io.safedefaults.microapp.sidecar.server.Sidecar;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The http target through the real sidecar, configured the way the operator configures it (a
 * purge path and the token file), in front of a real app server on loopback: the purge call
 * reaches the app with the right olderThan only with the job's token.
 */
class HttpPurgeTest {
  static final String TOKEN = "purge-token-Zm9vYmFyYmF6cXV4LTAxMjM0NTY3ODk";
  static final Instant NOW = Instant.parse("2025-03-01T10:15:30.250Z");
  static TestProvider provider;
  static HttpServer app;
  static Sidecar sidecar;
  static int sidecarPort;
  static Path dir;
  static final List<Seen> seen = new CopyOnWriteArrayList<>();
  static volatile int answerStatus;
  static volatile String answerBody;

  record Seen(String method, String path, Map<String, List<String>> headers, String body) {}

  @BeforeAll
  static void start() throws Exception {
    provider = new TestProvider();
    app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", ex -> {
      byte[] body = ex.getRequestBody().readAllBytes();
      seen.add(new Seen(ex.getRequestMethod(), ex.getRequestURI().getRawPath(), Map.copyOf(ex.getRequestHeaders()),
          new String(body, StandardCharsets.UTF_8)));
      byte[] answer = answerBody.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", answerBody.startsWith("{") ? "application/json" : "text/html");
      ex.sendResponseHeaders(answerStatus, answer.length == 0 ? -1 : answer.length);
      if (answer.length > 0) {
        ex.getResponseBody().write(answer);
      }
      ex.close();
    });
    app.start();
    dir = Files.createTempDirectory("purge-http-test");
    Path sidecarToken = dir.resolve("sidecar-token");
    Files.writeString(sidecarToken, TOKEN + "\n"); // as the operator's Secret mounts it into the app's pod
    sidecarPort = SidecarHarness.freePort();
    ObjectNode c = SidecarHarness.baseConfig(provider.issuer(), app.getAddress().getPort(), sidecarPort,
        SidecarHarness.freePort(), writeKeyset());
    c.putObject("purge").put("path", "/internal/purge").put("tokenFile", sidecarToken.toString());
    Path config = dir.resolve("sidecar.json");
    Files.writeString(config, c.toString());
    sidecar = Sidecar.start(ConfigLoader.load(config));
  }

  private static Path writeKeyset() throws Exception {
    Path keyset = dir.resolve("keyset.json");
    Files.writeString(keyset, SidecarHarness.newKeyset());
    return keyset;
  }

  @AfterAll
  static void stop() throws Exception {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
    if (sidecar != null) {
      sidecar.close();
    }
    if (app != null) {
      app.stop(0);
    }
    if (provider != null) {
      provider.close();
    }
  }

  @BeforeEach
  void reset() {
    seen.clear();
    answerStatus = 200;
    answerBody = "{\"deleted\": 42}";
  }

  private static Path config(String url, String token) throws Exception {
    Path tokenFile = Files.createTempFile(dir, "job-token", "");
    Files.writeString(tokenFile, token + "\n");
    Path f = Files.createTempFile(dir, "purge", ".json");
    Files.writeString(f, new ObjectMapper().writeValueAsString(Map.of("app", "where2eat", "namespace", "team-food",
        "ttlDays", 30, "version", 1, "target", "http", "http", Map.of("tokenFile", tokenFile.toString(), "url", url))));
    return f;
  }

  private static String purgeUrl() {
    return "http://127.0.0.1:" + sidecarPort + "/internal/purge";
  }

  private static PurgeOutcome run(Path config) {
    return PurgeRun.run(config, Clock.fixed(NOW, ZoneOffset.UTC),
        c -> new HttpPurge(c.http(), Duration.ofSeconds(20)));
  }

  @Test
  void thePurgeCallReachesTheAppWithTheCutoffAndTheAppsCount() throws Exception {
    PurgeOutcome o = run(config(purgeUrl(), TOKEN));

    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(o.deleted()).isEqualTo(42L);
    assertThat(o.cutoff()).isEqualTo("2025-01-30T10:15:30Z");
    assertThat(seen).hasSize(1);
    Seen call = seen.get(0);
    assertThat(call.method()).isEqualTo("POST");
    assertThat(call.path()).isEqualTo("/internal/purge");
    assertThat(call.headers().get("Content-type")).containsExactly("application/x-www-form-urlencoded");
    assertThat(call.body()).startsWith("olderThan=").doesNotContain("&");
    assertThat(URLDecoder.decode(call.body().substring("olderThan=".length()), StandardCharsets.UTF_8))
        .isEqualTo("2025-01-30T10:15:30Z");
    // the sidecar keeps the job's token to itself
    assertThat(call.headers()).doesNotContainKey("Authorization");
    // and the app can tell the call is the job's: the signature checks out with the token it can read
    String signature = call.headers().get("X-microapp-purge-signature").get(0);
    long now = java.time.Instant.now().getEpochSecond();
    assertThat(PurgeSignature.verify(TOKEN, signature, "POST", "/internal/purge", call.body(), now)).isTrue();
    assertThat(PurgeSignature.verify(TOKEN, signature, "POST", "/internal/purge", "olderThan=1970-01-01T00%3A00%3A00Z", now))
        .isFalse();
    assertThat(PurgeAudit.summary(o)).doesNotContain(TOKEN).doesNotContain("127.0.0.1");
  }

  @Test
  void aWrongTokenIsRefusedByTheSidecarAndTheRunFails() throws Exception {
    PurgeOutcome o = run(config(purgeUrl(), "not-the-" + TOKEN));
    assertThat(o.exitCode()).isEqualTo(1);
    assertThat(o.error()).contains("HTTP 403", "purge token");
    assertThat(o.deleted()).isNull();
    assertThat(seen).as("the app never saw the call").isEmpty();
    assertThat(PurgeAudit.summary(o)).doesNotContain(TOKEN);
  }

  @Test
  void anEmptySuccessIsASuccessWithAnUnknownCount() throws Exception {
    answerStatus = 204;
    answerBody = "";
    PurgeOutcome o = run(config(purgeUrl(), TOKEN));
    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(o.deleted()).isNull();
    assertThat(seen).hasSize(1);
  }

  @Test
  void aCatchAllPageIsNotTakenForAPurge() throws Exception {
    answerBody = "<!doctype html><title>where2eat</title><div id=app></div>";
    PurgeOutcome o = run(config(purgeUrl(), TOKEN));
    assertThat(o.exitCode()).isEqualTo(1);
    assertThat(o.error()).contains("HTTP 200", "not with an empty body or {\"deleted\": N}");
  }

  @Test
  void anyOtherAnswerFails() throws Exception {
    for (String body : List.of("{\"deleted\": -1}", "{\"deleted\": \"many\"}", "{\"deleted\": 1.5}", "{\"ok\": true}",
        "[42]", "42")) {
      answerBody = body;
      assertThat(run(config(purgeUrl(), TOKEN)).exitCode()).as(body).isEqualTo(1);
    }
    answerBody = "{\"deleted\": 3}";
    for (int status : new int[] {500, 404, 302, 401}) {
      answerStatus = status;
      PurgeOutcome o = run(config(purgeUrl(), TOKEN));
      assertThat(o.exitCode()).as("HTTP " + status).isEqualTo(1);
      assertThat(o.error()).contains("HTTP " + status);
    }
  }

  @Test
  void anUnreachableAppFails() throws Exception {
    PurgeOutcome o = run(config("http://127.0.0.1:" + SidecarHarness.freePort() + "/internal/purge", TOKEN));
    assertThat(o.exitCode()).isEqualTo(1);
    assertThat(o.error()).startsWith("cannot reach the app's purge endpoint");
  }

  @Test
  void aMissingOrMalformedTokenIsABadConfiguration() throws Exception {
    Path config = config(purgeUrl(), TOKEN);
    Path noToken = dir.resolve("absent-token");
    Files.writeString(config, Files.readString(config).replaceAll("\"tokenFile\":\"[^\"]*\"",
        "\"tokenFile\":\"" + noToken + "\""));
    PurgeOutcome o = run(config);
    assertThat(o.exitCode()).isEqualTo(2);
    assertThat(o.error()).isEqualTo("field 'http.tokenFile': " + noToken + " does not exist; is the Secret mounted?");

    PurgeOutcome injected = run(config(purgeUrl(), TOKEN + "\r\nX-Forwarded-User: admin"));
    assertThat(injected.exitCode()).isEqualTo(2);
    assertThat(injected.error()).startsWith("field 'http.tokenFile': the token is not a single bearer token")
        .doesNotContain(TOKEN);
    assertThat(seen).isEmpty();
  }
}
