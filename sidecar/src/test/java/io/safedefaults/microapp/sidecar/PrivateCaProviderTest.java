package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.safedefaults.microapp.sidecar.config.ConfigException;
import io.safedefaults.microapp.sidecar.support.Browser;
import io.safedefaults.microapp.sidecar.support.EchoUpstream;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestCa;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A provider behind a private CA (an internal Keycloak; mock-oauth2-server behind a cert-manager
 * CA issuer in the e2e cluster), over real sockets: the real mock-oauth2-server serves HTTPS with a
 * certificate signed by a CA made up for this run, which no JVM trusts by default. oidc.caFile
 * makes discovery, the token exchange and the JWKS fetches trust that CA, and only it.
 */
class PrivateCaProviderTest {
  static final String PASSWORD = "changeit";
  static final Map<String, Object> MEMBER = Map.of("email", "alice@acme.com", "email_verified", true,
      "groups", List.of("food-team"));

  static Path dir;
  static TestCa ca;
  static TestCa otherCa;
  static TestProvider provider;
  static EchoUpstream app;
  SidecarHarness sidecar;

  @BeforeAll
  static void startProviderBehindPrivateCa() throws Exception {
    dir = Files.createTempDirectory("private-ca");
    ca = TestCa.root("Acme Test Root CA");
    otherCa = TestCa.root("Someone Else's CA");
    ca.writePem(dir.resolve("acme-ca.pem"));
    otherCa.writePem(dir.resolve("other-ca.pem"));
    provider = TestProvider.https(ca.serverKeystore(dir.resolve("idp.p12"), PASSWORD, "localhost", "127.0.0.1", "::1"),
        PASSWORD);
    assertThat(provider.issuer()).startsWith("https://localhost:");
    app = new EchoUpstream();
  }

  @AfterAll
  static void stop() throws Exception {
    provider.close();
    app.close();
  }

  @AfterEach
  void stopSidecar() {
    if (sidecar != null) {
      sidecar.close();
      sidecar = null;
    }
  }

  private static Consumer<ObjectNode> caFile(Path file) {
    return c -> ((ObjectNode) c.get("oidc")).put("caFile", file.toString());
  }

  private SidecarHarness start(TestProvider idp, Consumer<ObjectNode> customise) throws Exception {
    sidecar = new SidecarHarness(idp, app, customise);
    return sidecar;
  }

  @Test
  void withoutCaFileTheSidecarRefusesTheProviderAtStart() {
    assertThatThrownBy(() -> start(provider, c -> {}))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("OIDC discovery at " + provider.issuer() + "/.well-known/openid-configuration failed")
        .hasMessageContaining("SSLHandshakeException")
        .hasMessageContaining("for a private CA set field 'oidc.caFile'")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void withTheCaFileBearerTokensAreVerifiedWithKeysFetchedOverTheCa() throws Exception {
    start(provider, caFile(dir.resolve("acme-ca.pem")));
    // the JWKS is fetched on the first token: through the CA, or the token would be rejected
    HttpResponse<String> rsp = sidecar.api("/api/orders", provider.bearer("svc-1", MEMBER));
    assertThat(rsp.statusCode()).as(rsp.body()).isEqualTo(200);
    assertThat(new JsonObject(rsp.body()).getJsonObject("headers").getJsonArray("x-forwarded-user").getString(0))
        .isEqualTo("svc-1");
  }

  @Test
  void withTheCaFileAPersonSignsInThroughTheProvider() throws Exception {
    start(provider, caFile(dir.resolve("acme-ca.pem")));
    // the browser trusts the CA too (the organisation rolls it out to its machines)
    Browser browser = new Browser(ca.trustingContext());
    provider.nextLogin("alice-sub", MEMBER);
    HttpResponse<String> page = browser.get(sidecar.url("/menu"));
    // the code was exchanged at the HTTPS token endpoint and the ID token verified with its keys
    assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
    assertThat(browser.visited).anyMatch(u -> u.toString().startsWith(provider.issuer() + "/authorize?"));
    JsonObject seen = new JsonObject(page.body());
    assertThat(seen.getString("uri")).isEqualTo("/menu");
    assertThat(seen.getJsonObject("headers").getJsonArray("x-forwarded-user").getString(0)).isEqualTo("alice-sub");
  }

  @Test
  void aBundleOfAnotherCaIsRefusedAtStart() {
    Path other = dir.resolve("other-ca.pem");
    assertThatThrownBy(() -> start(provider, caFile(other)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("OIDC discovery at " + provider.issuer())
        .hasMessageContaining("SSLHandshakeException")
        .hasMessageContaining("must be signed by a CA in field 'oidc.caFile' (" + other + ")");
  }

  @Test
  void theCaFileReplacesTheJvmTrustStoreInsteadOfAddingToIt() throws Exception {
    SSLContext original = SSLContext.getDefault();
    try {
      // as if the provider's CA were in the image's default trust store
      SSLContext.setDefault(ca.trustingContext());
      start(provider, c -> {}).close(); // without caFile the defaults apply, as they always did
      sidecar = null;
      // with a caFile that does not hold it, the defaults no longer count (oauth2-proxy's
      // --provider-ca-file without --use-system-trust-store)
      assertThatThrownBy(() -> start(provider, caFile(dir.resolve("other-ca.pem"))))
          .isInstanceOf(ConfigException.class).hasMessageContaining("SSLHandshakeException");
    } finally {
      SSLContext.setDefault(original);
    }
  }

  @Test
  void aProviderBehindAnIntermediateIsTrustedThroughTheRootInABundleOfSeveral() throws Exception {
    TestCa issuing = ca.intermediate("Acme Issuing CA 1");
    TestProvider chained = TestProvider.https(
        issuing.serverKeystore(dir.resolve("chained.p12"), PASSWORD, "localhost", "127.0.0.1", "::1"), PASSWORD);
    try {
      // a bundle as platforms hand them out: several CAs, comments between the blocks
      Path bundle = Files.writeString(dir.resolve("bundle.pem"), "# other team's CA\n" + otherCa.pem()
          + "# Acme Test Root CA\n" + ca.pem());
      start(chained, caFile(bundle));
      HttpResponse<String> rsp = sidecar.api("/api/orders",
          chained.token(TestProvider.ISSUER_ID, "svc-2", TestProvider.CLIENT_ID, MEMBER, 3600).serialize());
      assertThat(rsp.statusCode()).as(rsp.body()).isEqualTo(200);
    } finally {
      stopSidecar();
      chained.close();
    }
  }
}
