package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.support.EchoUpstream;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import io.safedefaults.microapp.sidecar.support.WebDriverClient;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A real browser (headless Chromium) signs in through the provider's login page, reaches the app,
 * and the cookie flags are read back from the browser's own cookie store: proof that the browser
 * accepts the __Host- cookie and that the SameSite=Strict session survives the provider's
 * cross-site redirect (the sidecar's same-site continue page).
 */
class ChromiumSignInIT {

  @Test
  void aPersonSignsInWithChromiumAndTheBrowserHoldsAStrictHostOnlySessionCookie() throws Exception {
    try (TestProvider provider = new TestProvider(true); EchoUpstream app = new EchoUpstream();
        SidecarHarness sidecar = new SidecarHarness(provider, app, c -> {});
        WebDriverClient chromium = new WebDriverClient()) {
      chromium.open(sidecar.url("/menu?day=fri"));
      assertThat(chromium.currentUrl()).startsWith(provider.issuer() + "/authorize");

      provider.nextLogin("alice-sub", Map.of());
      chromium.type(chromium.find("input[name=username]"), "alice-sub");
      String claims = chromium.find("textarea[name=claims]");
      chromium.clear(claims);
      chromium.type(claims, "{\"email\":\"alice@acme.com\",\"email_verified\":true,\"groups\":[\"food-team\"]}");
      chromium.click(chromium.find("input[type=submit]"));

      String url = "";
      for (int i = 0; i < 100 && !url.endsWith("/menu?day=fri"); i++) {
        Thread.sleep(100);
        url = chromium.currentUrl();
      }
      assertThat(url).isEqualTo(sidecar.url("/menu?day=fri"));
      String page = chromium.pageSource();
      String json = page.substring(page.indexOf('{'), page.lastIndexOf('}') + 1).replace("&quot;", "\"");
      assertThat(new JsonObject(json).getJsonObject("headers").getJsonArray("x-forwarded-user").getString(0))
          .isEqualTo("alice-sub");

      JsonObject session = chromium.cookies().stream().map(JsonObject.class::cast)
          .filter(c -> c.getString("name").equals("__Host-microapp-session")).findFirst().orElseThrow();
      assertThat(session.getBoolean("httpOnly")).isTrue();
      assertThat(session.getBoolean("secure")).isTrue();
      assertThat(session.getString("sameSite")).isEqualTo("Strict");
      assertThat(session.getString("path")).isEqualTo("/");
      long expiry = session.getLong("expiry");
      assertThat(expiry - System.currentTimeMillis() / 1000).isBetween(28_700L, 28_800L);
      // the one-time login-state cookie is gone once used
      assertThat(chromium.cookies().stream().map(JsonObject.class::cast)).noneMatch(c -> c.getString("name").equals("__Host-microapp-login"));
    }
  }
}
