package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.safedefaults.microapp.sidecar.support.Browser;
import io.safedefaults.microapp.sidecar.support.EchoUpstream;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Browser sessions: MFA step-up on admin paths, denial at sign-in, tampered cookies. */
class BrowserSessionTest {
  static TestProvider provider;
  static EchoUpstream app;
  static SidecarHarness sidecar;

  @BeforeAll
  static void start() throws Exception {
    provider = new TestProvider();
    app = new EchoUpstream();
    sidecar = new SidecarHarness(provider, app, c -> {
      ArrayNode acr = ((ObjectNode) c.get("adminPaths")).putArray("acr");
      acr.add("urn:acme:mfa");
    });
  }

  @AfterAll
  static void stop() throws Exception {
    sidecar.close();
    app.close();
    provider.close();
  }

  private static Map<String, Object> member(List<String> amr) {
    return Map.of("email", "alice@acme.com", "email_verified", true, "groups", List.of("food-team"), "amr", amr);
  }

  private Browser signedIn(String subject, List<String> amr) throws Exception {
    Browser browser = new Browser();
    provider.nextLogin(subject, member(amr));
    assertThat(browser.get(sidecar.url("/")).statusCode()).isEqualTo(200);
    return browser;
  }

  @Test
  void anAdminPathSendsTheBrowserBackToTheProviderForASecondFactor() throws Exception {
    Browser browser = signedIn("alice-sub", List.of("pwd"));

    HttpResponse<String> admin = browser.send("GET", sidecar.uri("/admin/settings"), null);
    assertThat(admin.statusCode()).isEqualTo(302);
    URI stepUp = URI.create(admin.headers().firstValue("Location").orElseThrow());
    assertThat(stepUp.getQuery()).contains("prompt=login", "max_age=0", "acr_values=urn:acme:mfa", "code_challenge_method=S256");

    // prompt=login: the provider shows its login form; the user signs in with a second factor
    HttpResponse<String> form = browser.follow(admin, 1);
    assertThat(form.statusCode()).isEqualTo(200);
    assertThat(form.body()).containsIgnoringCase("<form");
    provider.nextLogin("alice-sub", member(List.of("pwd")));
    HttpResponse<String> after = browser.submitLogin(stepUp, "alice-sub",
        "{\"amr\":[\"pwd\",\"otp\"],\"groups\":[\"food-team\"],\"email\":\"alice@acme.com\",\"email_verified\":true}");

    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(after.body()).getString("uri")).isEqualTo("/admin/settings");
  }

  @Test
  void anAcrValueFromTheProviderAlsoProvesMfa() throws Exception {
    Browser browser = new Browser();
    HttpResponse<String> page = browser.get(sidecar.url("/admin"));
    // first visit to an admin path goes straight to a step-up sign-in, which the provider honours
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).containsIgnoringCase("<form");
    provider.nextLogin("acr-user", Map.of("groups", List.of("food-team"), "acr", "urn:acme:mfa"));
    HttpResponse<String> after = browser.submitLogin(browser.visited.get(browser.visited.size() - 1), "acr-user",
        "{\"acr\":\"urn:acme:mfa\",\"groups\":[\"food-team\"]}");
    assertThat(new JsonObject(after.body()).getString("uri")).isEqualTo("/admin");
  }

  @Test
  void aStepUpWithoutASecondFactorEndsInA403NotALoop() throws Exception {
    Browser browser = signedIn("bob-sub", List.of("pwd"));
    HttpResponse<String> admin = browser.send("GET", sidecar.uri("/export"), null);
    URI stepUp = URI.create(admin.headers().firstValue("Location").orElseThrow());
    browser.follow(admin, 1);
    provider.nextLogin("bob-sub", member(List.of("pwd")));
    HttpResponse<String> after = browser.submitLogin(stepUp, "bob-sub", "{\"amr\":[\"pwd\"],\"groups\":[\"food-team\"]}");
    assertThat(after.statusCode()).isEqualTo(403);
    assertThat(after.body()).contains("second factor");
    // still signed in for ordinary pages
    assertThat(browser.get(sidecar.url("/menu")).statusCode()).isEqualTo(200);
  }

  @Test
  void aPersonOutsideTheAllowedGroupsAndDomainsGetsNoSession() throws Exception {
    Browser browser = new Browser();
    provider.nextLogin("eve-sub", Map.of("email", "eve@evil.com", "email_verified", true, "groups", List.of("finance")));
    HttpResponse<String> page = browser.get(sidecar.url("/"));
    assertThat(page.statusCode()).isEqualTo(403);
    assertThat(page.body()).contains("not allowed");
    assertThat(browser.cookie(sidecar.uri("/"), "__Host-microapp-session")).isNull();
  }

  @Test
  void aTamperedSessionCookieIsTreatedAsSignedOutAndCleared() throws Exception {
    Browser browser = signedIn("carol-sub", List.of("pwd"));
    String value = browser.cookie(sidecar.uri("/"), "__Host-microapp-session");
    char[] chars = value.toCharArray();
    chars[chars.length / 2] = chars[chars.length / 2] == 'A' ? 'B' : 'A';
    String tampered = new String(chars);

    HttpResponse<String> api = sidecar.api("/menu", null, "Cookie", "__Host-microapp-session=" + tampered);
    assertThat(api.statusCode()).isEqualTo(401);
    assertThat(api.headers().allValues("Set-Cookie")).anyMatch(c -> c.startsWith("__Host-microapp-session=;"));

    HttpResponse<String> page = sidecar.api("/menu", null, "Cookie", "__Host-microapp-session=" + tampered,
        "Accept", "text/html");
    assertThat(page.statusCode()).isEqualTo(302);

    // the untouched cookie still works: the refusal above was about the tampering
    assertThat(sidecar.api("/menu", null, "Cookie", "__Host-microapp-session=" + value).statusCode()).isEqualTo(200);
  }

  @Test
  void aLoginStateCookieCannotBeReplayedAsASession() throws Exception {
    Browser browser = new Browser();
    browser.send("GET", sidecar.uri("/"), null);
    String loginState = browser.cookie(sidecar.uri("/"), "__Host-microapp-login");
    assertThat(loginState).isNotNull();
    assertThat(sidecar.api("/menu", null, "Cookie", "__Host-microapp-session=" + loginState).statusCode()).isEqualTo(401);
  }

  @Test
  void aSessionFromAnotherAppsKeyIsRejected() throws Exception {
    try (SidecarHarness otherApp = new SidecarHarness(provider, app, c -> {})) {
      Browser browser = new Browser();
      provider.nextLogin("dave-sub", member(List.of("pwd")));
      browser.get(otherApp.url("/"));
      String foreign = browser.cookie(otherApp.uri("/"), "__Host-microapp-session");
      assertThat(otherApp.api("/menu", null, "Cookie", "__Host-microapp-session=" + foreign).statusCode()).isEqualTo(200);
      assertThat(sidecar.api("/menu", null, "Cookie", "__Host-microapp-session=" + foreign).statusCode()).isEqualTo(401);
    }
  }
}
