package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.safedefaults.microapp.sidecar.session.CookieSealer;
import io.safedefaults.microapp.sidecar.session.SessionData;
import io.safedefaults.microapp.sidecar.support.Browser;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A person signing in through the provider with a browser, end to end over real sockets. */
class LoginFlowTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack();

  private static Map<String, Object> member(String email) {
    return Map.of("email", email, "email_verified", true, "preferred_username", "alice", "groups", List.of("food-team"));
  }

  @Test
  void signInWithPkceStateAndNonceThenReachTheAppAsThatUser() throws Exception {
    Browser browser = new Browser();
    HttpResponse<String> first = browser.send("GET", stack.sidecar().uri("/menu?day=mon"), null);
    assertThat(first.statusCode()).isEqualTo(302);
    URI authorize = URI.create(first.headers().firstValue("Location").orElseThrow());
    assertThat(authorize.toString()).startsWith(stack.provider().issuer() + "/authorize?");
    assertThat(authorize.getQuery()).contains("response_type=code", "client_id=where2eat",
        "code_challenge_method=S256", "code_challenge=", "state=", "nonce=",
        "redirect_uri=" + stack.sidecar().url("/oauth2/callback"));

    stack.provider().nextLogin("alice-sub", member("alice@acme.com"));
    HttpResponse<String> page = browser.follow(first, 10);

    assertThat(page.statusCode()).isEqualTo(200);
    JsonObject seen = new JsonObject(page.body());
    assertThat(seen.getString("uri")).isEqualTo("/menu?day=mon"); // back where the user started
    JsonObject headers = seen.getJsonObject("headers");
    assertThat(headers.getJsonArray("x-forwarded-user").getString(0)).isEqualTo("alice-sub");
    assertThat(headers.getJsonArray("x-forwarded-email").getString(0)).isEqualTo("alice@acme.com");
    assertThat(headers.getJsonArray("x-forwarded-groups").getString(0)).isEqualTo("food-team");
    assertThat(headers.getJsonArray("x-forwarded-preferred-username").getString(0)).isEqualTo("alice");
    // the app never sees the sidecar's own cookies
    assertThat(headers.containsKey("cookie")).isFalse();
  }

  @Test
  void cookiesCarryTheSafeFlagsAndStayUnderFourKilobytes() throws Exception {
    Browser browser = new Browser();
    stack.provider().nextLogin("bob-sub", member("bob@acme.com"));
    browser.get(stack.sidecar().url("/"));

    String login = browser.setCookies.stream().filter(c -> c.startsWith("__Host-microapp-login=") && !c.startsWith("__Host-microapp-login=;"))
        .findFirst().orElseThrow();
    assertThat(login).contains("; Path=/", "; Max-Age=600", "; HttpOnly", "; Secure", "; SameSite=Lax").doesNotContain("Domain=");
    String session = browser.setCookies.stream().filter(c -> c.startsWith("__Host-microapp-session=")).findFirst().orElseThrow();
    assertThat(session).contains("; Path=/", "; Max-Age=28800", "; HttpOnly", "; Secure", "; SameSite=Strict")
        .doesNotContain("Domain=");
    assertThat(session.length()).isLessThan(4096);
    // the login-state cookie is single use: cleared at the callback
    assertThat(browser.setCookies).anyMatch(c -> c.startsWith("__Host-microapp-login=;") && c.contains("Max-Age=0"));
  }

  @Test
  void everySignInStartsANewSessionEvenWhenTheBrowserAlreadyHoldsOne() throws Exception {
    CookieJar reader = new CookieJar(CookieSealer.fromKeysetFile(stack.sidecar().dir.resolve("session-keyset.json")), 28800,
        java.time.Clock.systemUTC());
    Browser browser = new Browser();
    stack.provider().nextLogin("carol-sub", member("carol@acme.com"));
    browser.get(stack.sidecar().url("/"));
    String before = browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-session");
    SessionData first = reader.readSession(before);

    // a second sign-in (here the MFA step-up) while the old session cookie is still sent along
    HttpResponse<String> stepUp = browser.send("GET", stack.sidecar().uri("/admin"), null);
    URI authorize = URI.create(stepUp.headers().firstValue("Location").orElseThrow());
    browser.follow(stepUp, 1);
    stack.provider().nextLogin("carol-sub", member("carol@acme.com"));
    browser.submitLogin(authorize, "carol-sub", "{\"amr\":[\"otp\"],\"groups\":[\"food-team\"]}");
    SessionData second = reader.readSession(browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-session"));

    assertThat(first.subject()).isEqualTo(second.subject());
    assertThat(second.sessionId()).isNotEqualTo(first.sessionId());
    assertThat(second.mfa()).isTrue();
    assertThat(first.mfa()).isFalse();
  }

  @Test
  void logoutClearsTheSessionAndTheNextRequestMustSignInAgain() throws Exception {
    Browser browser = new Browser();
    stack.provider().nextLogin("dave-sub", member("dave@acme.com"));
    assertThat(browser.get(stack.sidecar().url("/")).statusCode()).isEqualTo(200);
    String copy = browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-session");
    assertThat(stack.sidecar().api("/menu", null, "Cookie", "__Host-microapp-session=" + copy).statusCode()).isEqualTo(200);

    // a GET (a link, or another site's <img>) only shows the page whose button signs out
    HttpResponse<String> page = browser.send("GET", stack.sidecar().uri("/oauth2/logout"), null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("<form method=\"post\" action=\"/oauth2/logout\">");
    assertThat(page.headers().allValues("Set-Cookie")).isEmpty();
    assertThat(stack.sidecar().api("/menu", null, "Cookie", "__Host-microapp-session=" + copy).statusCode()).isEqualTo(200);

    HttpResponse<String> out = browser.send("POST", stack.sidecar().uri("/oauth2/logout"), "");
    assertThat(out.headers().allValues("Set-Cookie"))
        .anyMatch(c -> c.startsWith("__Host-microapp-session=;") && c.contains("Max-Age=0"));
    assertThat(out.statusCode()).isEqualTo(302); // on to the provider's end_session_endpoint
    assertThat(out.headers().firstValue("Location").orElseThrow()).startsWith(stack.provider().issuer() + "/endsession");

    HttpResponse<String> after = browser.send("GET", stack.sidecar().uri("/"), null);
    assertThat(after.statusCode()).isEqualTo(302);
    assertThat(after.headers().firstValue("Location").orElseThrow()).startsWith(stack.provider().issuer() + "/authorize");

    // a copy of the cookie taken before signing out (another tab, a stolen value) is dead as well,
    // although its seal and expiry are intact; the replay is refused, cleared and counted
    HttpResponse<String> replay = stack.sidecar().api("/menu", null, "Cookie", "__Host-microapp-session=" + copy);
    assertThat(replay.statusCode()).isEqualTo(401);
    assertThat(replay.headers().allValues("Set-Cookie")).anyMatch(c -> c.startsWith("__Host-microapp-session=;"));
    assertThat(stack.sidecar().admin("/metrics").body()).contains("sidecar_auth_failures_total{reason=\"session_revoked\"}");

    // signing in again gives a new session that works
    stack.provider().nextLogin("dave-sub", member("dave@acme.com"));
    assertThat(browser.get(stack.sidecar().url("/")).statusCode()).isEqualTo(200);
    assertThat(browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-session")).isNotEqualTo(copy);
  }

  @Test
  void aCallbackWithoutTheMatchingStateCookieIsRefused() throws Exception {
    Browser victim = new Browser();
    // login CSRF: the attacker sends the victim to the callback with the attacker's own code and state
    HttpResponse<String> rsp = victim.send("GET", stack.sidecar().uri("/oauth2/callback?code=attacker-code&state=attacker-state"), null);
    assertThat(rsp.statusCode()).isEqualTo(400);
    assertThat(rsp.headers().allValues("Set-Cookie")).noneMatch(c -> c.startsWith("__Host-microapp-session=") && !c.contains("Max-Age=0"));
  }
}
