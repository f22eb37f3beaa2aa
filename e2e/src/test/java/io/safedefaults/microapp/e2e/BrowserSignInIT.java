package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * A person signs in with a real browser (Debian's Chromium) at https://where2eat.../ through the
 * ingress controller on the node: the certificate cert-manager issued is accepted because the
 * browser trusts the cluster's CA (no certificate checks turned off), the sidecar sends the browser
 * to the in-cluster provider, the person signs in there, lands back on the app's page signed in,
 * then opens the admin area and is asked to sign in again with a second factor.
 */
@Order(8)
class BrowserSignInIT extends E2ETestBase {
  static String ns;
  static String base;

  @BeforeAll
  static void app() {
    ns = where2eatBehindIngress("browser");
    base = "https://" + appHost("where2eat", ns);
  }

  static void signInAtTheProvider(Chromium chromium, String user, String claims) throws Exception {
    chromium.awaitUrl("https://login.example.com/realms/acme/authorize", Duration.ofSeconds(20));
    chromium.type(chromium.find("input[name=username]"), user);
    String c = chromium.find("textarea[name=claims]");
    chromium.clear(c);
    chromium.type(c, claims);
    chromium.click(chromium.find("input[type=submit]"));
  }

  @Test
  void aPersonSignsInThroughTheIngressAndStepsUpToMfaForTheAdminArea() throws Exception {
    Path work = e2e.controlPlane().targetDir().resolve("chromium-" + ns);
    try (Chromium chromium = new Chromium(e2e.controlPlane().ingressAddress(), e2e.controlPlane().ingressCa(), work)) {
      chromium.open(base + "/");
      signInAtTheProvider(chromium, "ann-sub", SignInIT.ANN);
      chromium.awaitUrl(base + "/", Duration.ofSeconds(30));
      await().atMost(Duration.ofSeconds(10)).until(() -> chromium.pageSource().contains("Signed in as"));
      assertThat(chromium.pageSource()).contains("Signed in as <strong>ann</strong>");

      JsonNode session = StreamSupport.stream(chromium.cookies().spliterator(), false)
          .filter(c -> c.path("name").asText().equals("__Host-microapp-session")).findFirst().orElseThrow();
      assertThat(session.path("httpOnly").asBoolean()).isTrue();
      assertThat(session.path("secure").asBoolean()).isTrue();
      assertThat(session.path("sameSite").asText()).isEqualTo("Strict");
      assertThat(session.path("domain").asText()).as("host-only").isEqualTo(appHost("where2eat", ns));

      // the admin area: back to the provider for a sign-in with a second factor
      chromium.open(base + "/admin");
      signInAtTheProvider(chromium, "ann-sub", SignInIT.ANN_MFA);
      chromium.awaitUrl(base + "/admin", Duration.ofSeconds(30));
      await().atMost(Duration.ofSeconds(10)).until(() -> chromium.pageSource().contains("admin area"));
    }
  }
}
