package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The chain the operator builds, request by request, the way the internet reaches it: the ingress
 * controller on the node (TLS with a certificate cert-manager issued for the app's host, checked
 * against the cluster CA), the auth sidecar in the app's pod, the real app behind it, and the
 * in-cluster OIDC provider for sign-in. What each step must do is the product's promise:
 * anonymous browsers are sent to sign in with PKCE, state and nonce; API clients get 401; only
 * members of the allowed group get in; admin paths need MFA; identities the client claims never
 * reach the app; every answer carries HSTS.
 */
@Order(7)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SignInIT extends E2ETestBase {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String HSTS = "max-age=31536000; includeSubDomains";
  static final String ANN = "{\"groups\":[\"food-team\"],\"email\":\"ann@acme.com\",\"email_verified\":true,"
      + "\"preferred_username\":\"ann\",\"amr\":[\"pwd\"]}";
  static final String ANN_MFA = ANN.replace("[\"pwd\"]", "[\"pwd\",\"mfa\"]");
  static String ns;
  static String base;

  @BeforeAll
  static void app() {
    ns = where2eatBehindIngress("signin");
    base = "https://" + appHost("where2eat", ns);
  }

  @Test
  @Order(1)
  void anAnonymousBrowserIsSentToTheProviderWithPkceStateAndNonce() {
    IngressHttp.Response r = ingress().get(base + "/menu?day=fri", "Accept: text/html");
    assertThat(r.status()).as(r.toString()).isEqualTo(302);
    String location = r.header("location").orElseThrow();
    assertThat(location).startsWith("https://login.example.com/realms/acme/authorize?");
    Map<String, String> q = query(location);
    assertThat(q).containsEntry("response_type", "code").containsEntry("client_id", "where2eat")
        .containsEntry("code_challenge_method", "S256").containsEntry("redirect_uri", base + "/oauth2/callback");
    assertThat(q.get("code_challenge")).matches("[A-Za-z0-9_-]{43}");
    assertThat(q.get("state")).isNotBlank();
    assertThat(q.get("nonce")).isNotBlank();
    assertThat(q.get("scope").split(" ")).contains("openid");
    assertThat(r.header("strict-transport-security")).hasValue(HSTS);
  }

  @Test
  @Order(2)
  void anApiClientWithoutCredentialsGets401NotARedirect() {
    IngressHttp.Response r = ingress().get(base + "/api/places", "Accept: application/json");
    assertThat(r.status()).as(r.toString()).isEqualTo(401);
    assertThat(r.header("strict-transport-security")).hasValue(HSTS);
  }

  @Test
  @Order(3)
  void aMemberSignsInAndTheAppSeesTheSidecarsIdentityNotTheClients() throws Exception {
    SignIn browser = new SignIn(ingress());
    IngressHttp.Response page = browser.open(base + "/", "ann-sub", ANN);
    assertThat(page.status()).as(page.toString()).isEqualTo(200);
    assertThat(page.body()).contains("Signed in as <strong>ann</strong>");
    String setCookie = browser.history().stream().flatMap(x -> x.response().headers("set-cookie").stream())
        .filter(c -> c.startsWith("__Host-microapp-session=")).findFirst().orElseThrow();
    assertThat(setCookie).contains("HttpOnly").contains("Secure").contains("SameSite=Strict").contains("Path=/")
        .doesNotContain("Domain=");
    // every answer from the app's host, the sidecar's own (redirects, callback) and the app's, has HSTS
    assertThat(browser.history()).filteredOn(x -> x.url().startsWith(base)).isNotEmpty()
        .allSatisfy(x -> assertThat(x.response().header("strict-transport-security")).as("HSTS on %s", x.url()).hasValue(HSTS));

    // a client that claims to be someone else, in every spelling, is still ann to the app
    IngressHttp.Response who = browser.send("GET", base + "/api/whoami", null, "Accept: application/json",
        "X-Forwarded-User: admin", "X-Forwarded_User: admin", "X-Auth-Request-User: admin",
        "X-Forwarded-Groups: admins", "X-Forwarded-Email: boss@acme.com");
    assertThat(who.status()).as(who.toString()).isEqualTo(200);
    JsonNode seen = JSON.readTree(who.body());
    assertThat(seen.path("user").asText()).isEqualTo("ann-sub");
    assertThat(seen.path("email").asText()).isEqualTo("ann@acme.com");
    assertThat(seen.path("groups").toString()).isEqualTo("[\"food-team\"]");
    assertThat(seen.path("headers").toString()).doesNotContain("admin").doesNotContain("boss@");
    assertThat(seen.path("headers").has("cookie")).as("the sidecar's cookies are not passed on: %s", seen)
        .isFalse();
  }

  @Test
  @Order(4)
  void someoneOutsideTheAllowedGroupIsDenied() {
    SignIn browser = new SignIn(ingress());
    IngressHttp.Response r = browser.open(base + "/", "mallory-sub",
        "{\"groups\":[\"other-team\"],\"email\":\"mallory@elsewhere.example\",\"email_verified\":true}");
    assertThat(r.status()).as(r.toString()).isEqualTo(403);
    assertThat(r.body()).contains("not allowed to use this app").doesNotContain("where2eat");
    assertThat(r.headers("set-cookie")).as("no session for a refused sign-in")
        .noneMatch(c -> c.startsWith("__Host-microapp-session=") && !c.startsWith("__Host-microapp-session=;"));
  }

  @Test
  @Order(5)
  void adminPathsNeedAnMfaSignInAndGetOneOnlyWithIt() {
    SignIn browser = new SignIn(ingress());
    assertThat(browser.open(base + "/", "ann-sub", ANN).status()).isEqualTo(200);
    // the session has no MFA: the browser is sent back to the provider to sign in again
    IngressHttp.Response stepUp = browser.browse(base + "/admin");
    assertThat(stepUp.status()).as(stepUp.toString()).isEqualTo(302);
    Map<String, String> q = query(stepUp.header("location").orElseThrow());
    assertThat(q).containsEntry("prompt", "login").containsEntry("max_age", "0");
    // signing in again without a second factor does not open it
    IngressHttp.Response stillNo = browser.open(base + "/admin", "ann-sub", ANN);
    assertThat(stillNo.status()).as(stillNo.toString()).isEqualTo(403);
    assertThat(stillNo.body()).contains("Second factor required");
    // with one it does
    IngressHttp.Response admin = browser.open(base + "/admin", "ann-sub", ANN_MFA);
    assertThat(admin.status()).as(admin.toString()).isEqualTo(200);
    assertThat(admin.body()).contains("admin area");
  }

  static Map<String, String> query(String url) {
    Map<String, String> q = new LinkedHashMap<>();
    String raw = URI.create(url).getRawQuery();
    for (String kv : raw == null ? new String[0] : raw.split("&")) {
      int eq = kv.indexOf('=');
      q.put(URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8),
          eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return q;
  }
}
