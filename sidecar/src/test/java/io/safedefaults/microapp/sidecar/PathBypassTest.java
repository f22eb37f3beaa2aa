package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.support.RawHttp;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Attempts to reach the MFA-protected admin paths (/admin/**, /export) with a signed-in user who
 * has no second factor, by spelling the path differently. Every attempt must end in the MFA refusal
 * (403) or be rejected as unreadable (400); none may reach the app. Requests are written on a raw
 * socket so no client library tidies them first.
 */
class PathBypassTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack();
  static String noMfa;
  static String withMfa;

  @BeforeAll
  static void start() throws Exception {
    noMfa = stack.provider().bearer("ops", Map.of("groups", List.of("food-team"), "amr", List.of("pwd")));
    withMfa = stack.provider().bearer("ops-mfa", Map.of("groups", List.of("food-team"), "amr", List.of("pwd", "hwk")));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
      "/admin",
      "/admin/",
      "/admin/users",
      "//admin",
      "///admin/users",
      "/./admin",
      "/public/../admin",
      "/admin/./users",
      "/%61dmin",
      "/%2e/admin",
      "/public/%2e%2e/admin",
      "/public/%2E%2E/admin",
      "/public/..;/admin",
      "/public/.%2e/admin",
      "/admin;jsessionid=abc",
      "/admin;/users",
      "/ADMIN",
      "/Admin/Users",
      "/aDmIn/",
      "/admin/%2e%2e/admin",
      "/.%2e/admin",
      "/public%23/../admin",
      "/export",
      "/export/",
      "/EXPORT",
      "/export;.css",
      "/export?next=/public",
      "/export?%2F..%2Fpublic",
      "/exp%6Frt",
      "/public/../../../../export",
      "/.well-known/acme-challenge/../../admin",
      "/oauth2/callback/../../admin",
      "/admin%3Bx/users",
      "http://evil.example/admin",
      "http://localhost/public/../export",
  })
  void spellingsOfAnAdminPathStillNeedMfa(String target) throws Exception {
    RawHttp.Response rsp = RawHttp.get(stack.sidecar().port, target, Map.of("Authorization", "Bearer " + noMfa, "Accept", "application/json"));
    assertThat(rsp.status()).as(target).isEqualTo(403);
    assertThat(rsp.body()).as(target).contains("mfa_required");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
      "/admin%2Fusers",
      "/admin%2fusers",
      "/%2fadmin",
      "/public%5C..%5Cadmin",
      "/public\\..\\admin",
      "/admin%00",
      "/admin%00.css",
      "/export%00",
      "/admin%252F",
      "/%252e%252e/admin",
      "/public/..%2Fadmin",
      "/public/%2e%2e%2fadmin",
      "/admin#fragment",
      "/%c0%afadmin",
      "/%e0%80%afadmin",
      "/admin%0d%0aX-Injected:1",
      "/admin%",
      "/admin%zz",
      "*",
  })
  void unreadableSpellingsAreRejectedWith400(String target) throws Exception {
    RawHttp.Response rsp = RawHttp.get(stack.sidecar().port, target, Map.of("Authorization", "Bearer " + noMfa, "Accept", "application/json"));
    assertThat(rsp.status()).as(target).isEqualTo(400);
    assertThat(rsp.head()).as(target).containsIgnoringCase("Strict-Transport-Security");
  }

  @Test
  void theAppReceivesExactlyThePathTheDecisionWasMadeOn() throws Exception {
    RawHttp.Response rsp = RawHttp.get(stack.sidecar().port, "/shop/./items/../cart;jsessionid=x//%7Euser/caf%C3%A9?x=%2F&y=1",
        Map.of("Authorization", "Bearer " + noMfa));
    assertThat(rsp.status()).isEqualTo(200);
    assertThat(new JsonObject(rsp.body()).getString("uri")).isEqualTo("/shop/cart/~user/caf%C3%A9?x=%2F&y=1");
  }

  @Test
  void withMfaTheAdminPathIsForwardedInItsCanonicalForm() throws Exception {
    RawHttp.Response rsp = RawHttp.get(stack.sidecar().port, "/public/..;/ADMIN//users;x=1",
        Map.of("Authorization", "Bearer " + withMfa));
    assertThat(rsp.status()).isEqualTo(200);
    assertThat(new JsonObject(rsp.body()).getString("uri")).isEqualTo("/ADMIN/users");
  }

  @Test
  void theAcmeChallengePathSkipsSignInButOnlyAfterNormalisation() throws Exception {
    RawHttp.Response token = RawHttp.get(stack.sidecar().port, "/.well-known/acme-challenge/abc123", Map.of());
    assertThat(token.status()).isEqualTo(200);
    assertThat(new JsonObject(token.body()).getString("uri")).isEqualTo("/.well-known/acme-challenge/abc123");

    RawHttp.Response escape = RawHttp.get(stack.sidecar().port, "/.well-known/acme-challenge/../../private", Map.of());
    assertThat(escape.status()).isEqualTo(401);
    RawHttp.Response encoded = RawHttp.get(stack.sidecar().port, "/.well-known/acme-challenge/%2e%2e/%2e%2e/private", Map.of());
    assertThat(encoded.status()).isEqualTo(401);
  }

  /** Only GET or HEAD of one base64url token skips sign-in; every other method or shape signs in. */
  @Test
  void theAcmeExemptionIsOneTokenFetchedWithGetOrHead() throws Exception {
    java.util.Random random = new java.util.Random(Long.getLong("acme.seed", System.nanoTime()));
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int n = 0; n < 40; n++) {
      StringBuilder token = new StringBuilder();
      for (int k = 0, len = 1 + random.nextInt(60); k < len; k++) {
        token.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      String method = List.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS").get(random.nextInt(7));
      String suffix = List.of("", "", "/x", "/", ".txt", "~1", "/../../x").get(random.nextInt(7));
      String path = "/.well-known/acme-challenge/" + token + suffix;
      boolean exempt = (method.equals("GET") || method.equals("HEAD")) && suffix.isEmpty();
      RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, method + " " + path
          + " HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 3_000);
      assertThat(ex.statuses()).as("%s %s", method, path).containsExactly(exempt ? 200 : 401);
    }
  }

  @Test
  void noDecisionDependsOnTheUserAgent() throws Exception {
    for (String ua : List.of("kube-probe/1.30", "GoogleHC/1.0", "ELB-HealthChecker/2.0", "Prometheus/2.0")) {
      RawHttp.Response rsp = RawHttp.get(stack.sidecar().port, "/", Map.of("User-Agent", ua));
      assertThat(rsp.status()).as(ua).isEqualTo(401);
    }
  }
}
