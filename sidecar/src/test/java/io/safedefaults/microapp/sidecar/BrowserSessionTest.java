package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.safedefaults.microapp.sidecar.support.Browser;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Browser sessions: MFA step-up on admin paths, denial at sign-in, tampered cookies. */
class BrowserSessionTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack(c -> {
    ArrayNode acr = ((ObjectNode) c.get("adminPaths")).putArray("acr");
    acr.add("urn:acme:mfa");
  });

  private static Map<String, Object> member(List<String> amr) {
    return Map.of("email", "alice@acme.com", "email_verified", true, "groups", List.of("food-team"), "amr", amr);
  }

  private Browser signedIn(String subject, List<String> amr) throws Exception {
    Browser browser = new Browser();
    stack.provider().nextLogin(subject, member(amr));
    assertThat(browser.get(stack.sidecar().url("/")).statusCode()).isEqualTo(200);
    return browser;
  }

  @Test
  void anAdminPathSendsTheBrowserBackToTheProviderForASecondFactor() throws Exception {
    Browser browser = signedIn("alice-sub", List.of("pwd"));

    HttpResponse<String> admin = browser.send("GET", stack.sidecar().uri("/admin/settings"), null);
    assertThat(admin.statusCode()).isEqualTo(302);
    URI stepUp = URI.create(admin.headers().firstValue("Location").orElseThrow());
    assertThat(stepUp.getQuery()).contains("prompt=login", "max_age=0", "acr_values=urn:acme:mfa", "code_challenge_method=S256");

    // prompt=login: the provider shows its login form; the user signs in with a second factor
    HttpResponse<String> form = browser.follow(admin, 1);
    assertThat(form.statusCode()).isEqualTo(200);
    assertThat(form.body()).containsIgnoringCase("<form");
    stack.provider().nextLogin("alice-sub", member(List.of("pwd")));
    HttpResponse<String> after = browser.submitLogin(stepUp, "alice-sub",
        "{\"amr\":[\"pwd\",\"otp\"],\"groups\":[\"food-team\"],\"email\":\"alice@acme.com\",\"email_verified\":true}");

    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(after.body()).getString("uri")).isEqualTo("/admin/settings");
  }

  @Test
  void anAcrValueFromTheProviderAlsoProvesMfa() throws Exception {
    Browser browser = new Browser();
    HttpResponse<String> page = browser.get(stack.sidecar().url("/admin"));
    // first visit to an admin path goes straight to a step-up sign-in, which the provider honours
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).containsIgnoringCase("<form");
    stack.provider().nextLogin("acr-user", Map.of("groups", List.of("food-team"), "acr", "urn:acme:mfa"));
    HttpResponse<String> after = browser.submitLogin(browser.visited.get(browser.visited.size() - 1), "acr-user",
        "{\"acr\":\"urn:acme:mfa\",\"groups\":[\"food-team\"]}");
    assertThat(new JsonObject(after.body()).getString("uri")).isEqualTo("/admin");
  }

  @Test
  void aStepUpWithoutASecondFactorEndsInA403NotALoop() throws Exception {
    Browser browser = signedIn("bob-sub", List.of("pwd"));
    HttpResponse<String> admin = browser.send("GET", stack.sidecar().uri("/export"), null);
    URI stepUp = URI.create(admin.headers().firstValue("Location").orElseThrow());
    browser.follow(admin, 1);
    stack.provider().nextLogin("bob-sub", member(List.of("pwd")));
    HttpResponse<String> after = browser.submitLogin(stepUp, "bob-sub", "{\"amr\":[\"pwd\"],\"groups\":[\"food-team\"]}");
    assertThat(after.statusCode()).isEqualTo(403);
    assertThat(after.body()).contains("second factor");
    // still signed in for ordinary pages
    assertThat(browser.get(stack.sidecar().url("/menu")).statusCode()).isEqualTo(200);
  }

  @Test
  void aPersonOutsideTheAllowedGroupsAndDomainsGetsNoSession() throws Exception {
    Browser browser = new Browser();
    stack.provider().nextLogin("eve-sub", Map.of("email", "eve@evil.com", "email_verified", true, "groups", List.of("finance")));
    HttpResponse<String> page = browser.get(stack.sidecar().url("/"));
    assertThat(page.statusCode()).isEqualTo(403);
    assertThat(page.body()).contains("not allowed");
    assertThat(browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-session")).isNull();
  }

  @Test
  void aTamperedSessionCookieIsTreatedAsSignedOutAndCleared() throws Exception {
    Browser browser = signedIn("carol-sub", List.of("pwd"));
    String value = browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-session");
    char[] chars = value.toCharArray();
    chars[chars.length / 2] = chars[chars.length / 2] == 'A' ? 'B' : 'A';
    String tampered = new String(chars);

    HttpResponse<String> api = stack.sidecar().api("/menu", null, "Cookie", "__Host-microapp-session=" + tampered);
    assertThat(api.statusCode()).isEqualTo(401);
    assertThat(api.headers().allValues("Set-Cookie")).anyMatch(c -> c.startsWith("__Host-microapp-session=;"));

    HttpResponse<String> page = stack.sidecar().api("/menu", null, "Cookie", "__Host-microapp-session=" + tampered,
        "Accept", "text/html");
    assertThat(page.statusCode()).isEqualTo(302);

    // the untouched cookie still works: the refusal above was about the tampering
    assertThat(stack.sidecar().api("/menu", null, "Cookie", "__Host-microapp-session=" + value).statusCode()).isEqualTo(200);
  }

  @Test
  void aLoginStateCookieCannotBeReplayedAsASession() throws Exception {
    Browser browser = new Browser();
    browser.send("GET", stack.sidecar().uri("/"), null);
    String loginState = browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-login");
    assertThat(loginState).isNotNull();
    assertThat(stack.sidecar().api("/menu", null, "Cookie", "__Host-microapp-session=" + loginState).statusCode()).isEqualTo(401);
  }

  @Test
  void aSessionFromAnotherAppsKeyIsRejected() throws Exception {
    try (SidecarHarness otherApp = new SidecarHarness(stack.provider(), stack.app(), c -> {})) {
      Browser browser = new Browser();
      stack.provider().nextLogin("dave-sub", member(List.of("pwd")));
      browser.get(otherApp.url("/"));
      String foreign = browser.cookie(otherApp.uri("/"), "__Host-microapp-session");
      assertThat(otherApp.api("/menu", null, "Cookie", "__Host-microapp-session=" + foreign).statusCode()).isEqualTo(200);
      assertThat(stack.sidecar().api("/menu", null, "Cookie", "__Host-microapp-session=" + foreign).statusCode()).isEqualTo(401);
    }
  }
}
