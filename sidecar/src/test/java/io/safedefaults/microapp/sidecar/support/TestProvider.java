package io.safedefaults.microapp.sidecar.support;

import com.nimbusds.jwt.SignedJWT;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;

/** A real OIDC provider on loopback (mock-oauth2-server): discovery, JWKS, authorize, token. */
public final class TestProvider implements AutoCloseable {
  public static final String ISSUER_ID = "acme";
  public static final String CLIENT_ID = "where2eat";
  private final MockOAuth2Server server;

  public TestProvider() {
    this(false);
  }

  /** @param interactiveLogin show the provider's login page instead of signing in at once */
  public TestProvider(boolean interactiveLogin) {
    this(new no.nav.security.mock.oauth2.OAuth2Config(interactiveLogin));
  }

  private TestProvider(no.nav.security.mock.oauth2.OAuth2Config config) {
    server = new MockOAuth2Server(config);
    server.start();
  }

  /**
   * The provider over HTTPS (issuer https://localhost:PORT/acme) with the key and certificate of a
   * PKCS12 keystore, through mock-oauth2-server's own SSL configuration: a provider behind a
   * certificate from a private CA ({@link TestCa#serverKeystore}).
   */
  public static TestProvider https(Path keystore, String password) {
    return new TestProvider(no.nav.security.mock.oauth2.OAuth2Config.Companion.fromJson("""
        {"interactiveLogin": false, "httpServer": {"type": "MockWebServerWrapper", "ssl": {
          "keyPassword": "%s", "keystoreFile": "%s", "keystoreType": "PKCS12", "keystorePassword": "%s"}}}
        """.formatted(password, keystore, password)));
  }

  public String issuer() {
    return server.issuerUrl(ISSUER_ID).toString();
  }

  public String issuer(String issuerId) {
    return server.issuerUrl(issuerId).toString();
  }

  /** The next sign-in (code exchange) at our issuer returns these claims for this subject. */
  public void nextLogin(String subject, Map<String, Object> claims) {
    server.enqueueCallback(new DefaultOAuth2TokenCallback(ISSUER_ID, subject, "JWT", List.of(CLIENT_ID), claims, 3600));
  }

  /** An access token as an API client would send it. */
  public String bearer(String subject, Map<String, Object> claims) {
    return token(ISSUER_ID, subject, CLIENT_ID, claims, 3600).serialize();
  }

  public SignedJWT token(String issuerId, String subject, String audience, Map<String, Object> claims, long expirySeconds) {
    return server.issueToken(issuerId, subject, audience, claims, expirySeconds);
  }

  @Override
  public void close() {
    server.shutdown();
  }
}
