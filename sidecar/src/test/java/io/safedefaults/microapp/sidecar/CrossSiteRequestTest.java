package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.support.Browser;
import io.safedefaults.microapp.sidecar.support.RawHttp;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A page on a sibling app (same parent domain, so the same "site" to a browser) must not change
 * anything here with the user's session cookie: generated requests with every mix of method,
 * WebSocket upgrade, Sec-Fetch-Site and Origin get through exactly when the browser says they came
 * from this app's own origin, or when they are safe, or when a bearer token (no ambient
 * credential) signs them.
 */
class CrossSiteRequestTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack();
  static String cookie;

  @BeforeAll
  static void signIn() throws Exception {
    Browser browser = new Browser();
    stack.provider().nextLogin("csrf-sub", Map.of("email", "ann@acme.com", "email_verified", true,
        "groups", List.of("food-team")));
    assertThat(browser.get(stack.sidecar().url("/")).statusCode()).isEqualTo(200);
    cookie = "__Host-microapp-session=" + browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-session");
  }

  @Test
  void onlySameOriginRequestsChangeAnythingWithTheSessionCookie() throws Exception {
    long seed = Long.getLong("csrf.seed", System.nanoTime());
    Random random = new Random(seed);
    String self = "http://localhost:" + stack.sidecar().port;
    List<String> sites = List.of("same-origin", "same-site", "cross-site", "none", "SAME-ORIGIN");
    List<String> origins = List.of(self, "https://other.apps.example.com", "null", self + ".evil.example",
        "http://localhost:1", "HTTP://LOCALHOST:" + stack.sidecar().port);
    for (int n = 0; n < 60; n++) {
      String method = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS").get(random.nextInt(7));
      boolean upgrade = method.equals("GET") && random.nextInt(3) == 0;
      String site = random.nextBoolean() ? sites.get(random.nextInt(sites.size())) : null;
      String origin = random.nextBoolean() ? origins.get(random.nextInt(origins.size())) : null;
      boolean bearer = random.nextInt(5) == 0;
      List<String> headers = new ArrayList<>();
      headers.add(bearer ? "Authorization: Bearer " + stack.provider().bearer("svc-1", Map.of("groups", List.of("food-team")))
          : "Cookie: " + cookie);
      if (upgrade) {
        headers.add("Upgrade: websocket");
        headers.add("Connection: Upgrade");
        headers.add("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
        headers.add("Sec-WebSocket-Version: 13");
      }
      if (site != null) {
        headers.add("Sec-Fetch-Site: " + site);
      }
      if (origin != null) {
        headers.add("Origin: " + origin);
      }
      boolean safe = !upgrade && (method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS"));
      boolean sameOrigin = site != null ? site.equalsIgnoreCase("same-origin") : self.equalsIgnoreCase(origin);
      boolean allowed = bearer || safe || sameOrigin;
      String raw = method + " /api/orders HTTP/1.1\r\nHost: localhost:" + stack.sidecar().port + "\r\nAccept: application/json\r\n"
          + String.join("\r\n", headers) + "\r\nContent-Length: 0\r\n" + (upgrade ? "" : "Connection: close\r\n") + "\r\n";
      RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, raw, 1_000);
      String what = String.format("seed %d: %s%s Sec-Fetch-Site=%s Origin=%s %s", seed, method, upgrade ? " (upgrade)" : "",
          site, origin, bearer ? "bearer" : "cookie");
      assertThat(ex.statuses()).as(what).isNotEmpty();
      if (allowed) {
        assertThat(ex.statuses().get(0)).as(what).isNotEqualTo(403);
      } else {
        assertThat(ex.statuses().get(0)).as(what).isEqualTo(403);
        assertThat(ex.text()).as(what).contains("cross_site_request");
      }
    }
  }

  @Test
  void signingOutFromAnotherSiteIsRefused() throws Exception {
    RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, "POST /oauth2/logout HTTP/1.1\r\nHost: localhost:"
        + stack.sidecar().port + "\r\nCookie: " + cookie + "\r\nSec-Fetch-Site: same-site\r\nContent-Length: 0\r\n"
        + "Connection: close\r\n\r\n", 2_000);
    assertThat(ex.statuses()).containsExactly(403);
    assertThat(stack.sidecar().api("/menu", null, "Cookie", cookie).statusCode()).as("still signed in").isEqualTo(200);
  }
}
