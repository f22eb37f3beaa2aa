package io.safedefaults.microapp.sidecar.support;

import com.nimbusds.jwt.SignedJWT;
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
    server = new MockOAuth2Server(new no.nav.security.mock.oauth2.OAuth2Config(interactiveLogin));
    server.start();
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
