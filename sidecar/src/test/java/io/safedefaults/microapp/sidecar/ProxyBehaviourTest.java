package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.support.RawHttp;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What the app and the client see of the proxy: headers both ways, WebSockets, admin port. */
class ProxyBehaviourTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack();
  static String token;

  @BeforeAll
  static void start() throws Exception {
    token = stack.provider().bearer("svc-h", Map.of("groups", List.of("food-team"), "email", "svc@acme.com", "email_verified", true));
  }

  @Test
  void identityHeadersFromTheClientNeverReachTheAppInAnySpelling() throws Exception {
    RawHttp.Response rsp = RawHttp.get(stack.sidecar().port, "/whoami", Map.ofEntries(
        Map.entry("Authorization", "Bearer " + token),
        Map.entry("X-Forwarded-User", "admin"),
        Map.entry("x-forwarded-email", "boss@acme.com"),
        Map.entry("X_Forwarded_User", "admin"),
        Map.entry("X_FORWARDED_GROUPS", "admins"),
        Map.entry("X-Forwarded-Preferred-Username", "root"),
        Map.entry("x_forwarded_preferred_username", "root"),
        Map.entry("X-Auth-Request-User", "admin"),
        Map.entry("x_auth_request_email", "boss@acme.com"),
        Map.entry("X-AUTH-REQUEST-GROUPS", "admins"),
        Map.entry("X-Auth-Request-Access-Token", "forged"),
        Map.entry("X-Original-URL", "/admin"),
        Map.entry("X-Rewrite-URL", "/admin"),
        Map.entry("X-Forwarded-Uri", "/admin"),
        Map.entry("X-Forwarded-For", "6.6.6.6"),
        Map.entry("X-Forwarded-Host", "evil.example"),
        Map.entry("X-Forwarded-Proto", "http"),
        Map.entry("X-Real-IP", "6.6.6.6"),
        Map.entry("Forwarded", "for=6.6.6.6"),
        Map.entry("X-Microapp-Purge-Signature", "t=1,v1=" + "0".repeat(64))));
    assertThat(rsp.status()).isEqualTo(200);
    JsonObject h = new JsonObject(rsp.body()).getJsonObject("headers");
    for (String name : h.fieldNames()) {
      String n = name.replace('_', '-');
      if (n.startsWith("x-auth-request") || n.equals("x-real-ip") || n.equals("x-original-url")
          || n.equals("x-microapp-purge-signature")
          || n.equals("x-rewrite-url") || n.equals("x-forwarded-uri")) {
        throw new AssertionError("header reached the app: " + name);
      }
    }
    assertThat(h.getJsonArray("x-forwarded-user").getList()).containsExactly("svc-h");
    assertThat(h.getJsonArray("x-forwarded-email").getList()).containsExactly("svc@acme.com");
    assertThat(h.getJsonArray("x-forwarded-groups").getList()).containsExactly("food-team");
    assertThat(h.containsKey("x-forwarded-preferred-username")).isFalse(); // the token has none
    assertThat(h.fieldNames()).noneMatch(n -> n.contains("_"));
    // the peer is not a trusted proxy: its forwarding claims are replaced by what the sidecar saw
    assertThat(h.getJsonArray("x-forwarded-for").getList()).containsExactly("127.0.0.1");
    assertThat(h.getJsonArray("x-forwarded-host").getList()).containsExactly("localhost:" + stack.sidecar().port);
    assertThat(h.getJsonArray("x-forwarded-proto").getList()).containsExactly("http"); // publicUrl is http://localhost here
    assertThat(h.getJsonArray("host").getList()).containsExactly("localhost:" + stack.sidecar().port);
    assertThat(h.getJsonArray("forwarded").getList())
        .containsExactly("for=127.0.0.1;host=\"localhost:" + stack.sidecar().port + "\";proto=http");
  }

  @Test
  void secureHeadersAreOnEveryResponseTheAppsAndTheSidecarsOwn() throws Exception {
    List<HttpResponse<String>> responses = List.of(
        stack.sidecar().api("/ok", token),                       // proxied
        stack.sidecar().api("/ok", null),                        // 401
        stack.sidecar().api("/ok", "garbage"),                   // 401 invalid token
        stack.sidecar().api("/admin", token),                    // 403 MFA
        stack.sidecar().api("/ok", null, "Accept", "text/html"));  // 302 to sign-in
    for (HttpResponse<String> rsp : responses) {
      var h = rsp.headers();
      assertThat(h.firstValue("Strict-Transport-Security")).as("status %d", rsp.statusCode())
          .hasValue("max-age=31536000; includeSubDomains");
      assertThat(h.firstValue("X-Content-Type-Options")).hasValue("nosniff");
      assertThat(h.firstValue("Referrer-Policy")).hasValue("strict-origin-when-cross-origin");
      assertThat(h.firstValue("X-Frame-Options")).hasValue("DENY");
      assertThat(h.allValues("Content-Security-Policy")).anyMatch(v -> v.contains("frame-ancestors 'none'")
          && v.contains("default-src 'self'") && v.contains("object-src 'none'"));
    }
    assertThat(responses.get(0).headers().firstValue("X-Powered-By")).isEmpty();
    RawHttp.Response bad = RawHttp.get(stack.sidecar().port, "/%2f", Map.of());
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.head()).contains("Strict-Transport-Security: max-age=31536000; includeSubDomains", "X-Frame-Options: DENY");
  }

  @Test
  void anAppsOwnCspIsKeptNextToTheSidecarsSoItCanOnlyTighten() throws Exception {
    HttpResponse<String> rsp = stack.sidecar().api("/with-csp", token);
    assertThat(rsp.headers().allValues("Content-Security-Policy"))
        .contains("script-src 'none'")
        .anyMatch(v -> v.contains("frame-ancestors 'none'"));
  }

  @Test
  void webSocketsPassThroughOnceSignedIn() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    CompletableFuture<String> reply = new CompletableFuture<>();
    WebSocket ws = http.newWebSocketBuilder()
        .header("Authorization", "Bearer " + token)
        .buildAsync(URI.create("ws://localhost:" + stack.sidecar().port + "/live"), new WebSocket.Listener() {
          @Override
          public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            reply.complete(data.toString());
            return null;
          }
        }).get(10, TimeUnit.SECONDS);
    ws.sendText("hello", true);
    assertThat(reply.get(10, TimeUnit.SECONDS)).isEqualTo("echo:hello");
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
  }

  @Test
  void webSocketsWithoutSignInAreRefusedAtTheHandshake() {
    // (a cross-site page cannot ride on the session either: the cookie is SameSite=Strict)
    HttpClient http = HttpClient.newHttpClient();
    CompletableFuture<WebSocket> attempt = http.newWebSocketBuilder()
        .buildAsync(URI.create("ws://localhost:" + stack.sidecar().port + "/live"), new WebSocket.Listener() {});
    Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() -> attempt.get(10, TimeUnit.SECONDS));
    Throwable root = failure;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    assertThat(root.getMessage()).contains("401");
  }

  @Test
  void bodiesStreamToTheAppUnchanged() throws Exception {
    String payload = "x".repeat(300_000);
    HttpResponse<String> rsp = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
        java.net.http.HttpRequest.newBuilder(stack.sidecar().uri("/upload")).header("Authorization", "Bearer " + token)
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(payload)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(rsp.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(rsp.body()).getString("body")).hasSize(300_000);
  }

  @Test
  void healthReadinessAndMetricsLiveOnTheAdminPortOnly() throws Exception {
    assertThat(stack.sidecar().admin("/healthz").statusCode()).isEqualTo(200);
    assertThat(stack.sidecar().admin("/readyz").statusCode()).isEqualTo(200);
    stack.sidecar().api("/ok", token);
    stack.sidecar().api("/ok", "garbage");
    HttpResponse<String> metrics = stack.sidecar().admin("/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("sidecar_requests_total{outcome=\"proxied\"}",
        "sidecar_auth_failures_total{reason=\"malformed\"}", "sidecar_upstream_latency_seconds_bucket");
    // on the app port the same paths are just app paths behind sign-in
    assertThat(stack.sidecar().api("/metrics", null).statusCode()).isEqualTo(401);
    assertThat(stack.sidecar().api("/healthz", null).statusCode()).isEqualTo(401);
  }
}
