package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.safedefaults.microapp.sidecar.support.EchoUpstream;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A provider that rotates its signing key: tokens under the new key id are accepted without a
 * restart, because an unknown kid makes the sidecar refetch the JWKS (at most every 10 s).
 */
class KeyRotationTest {

  @Test
  void aNewSigningKeyIsPickedUpWithoutARestart() throws Exception {
    RSAKey keyA = new RSAKeyGenerator(2048).keyID("key-a").generate();
    RSAKey keyB = new RSAKeyGenerator(2048).keyID("key-b").generate();
    AtomicReference<JWKSet> published = new AtomicReference<>(new JWKSet(keyA.toPublicJWK()));
    HttpServer idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    String issuer = "http://127.0.0.1:" + idp.getAddress().getPort() + "/realms/rot";
    idp.createContext("/realms/rot/.well-known/openid-configuration", ex -> reply(ex, ("{\"issuer\":\"" + issuer
        + "\",\"authorization_endpoint\":\"" + issuer + "/auth\",\"token_endpoint\":\"" + issuer + "/token\","
        + "\"jwks_uri\":\"" + issuer + "/jwks\"}")));
    idp.createContext("/realms/rot/jwks", ex -> reply(ex, published.get().toString()));
    idp.start();
    try (EchoUpstream app = new EchoUpstream();
        SidecarHarness sidecar = new SidecarHarness(issuer, app, c -> {}, SidecarHarness.newKeyset())) {
      assertThat(sidecar.api("/menu", token(keyA, issuer)).statusCode()).isEqualTo(200);

      published.set(new JWKSet(List.of(keyA.toPublicJWK(), keyB.toPublicJWK())));
      Thread.sleep(10_500); // the refetch rate limit protects the provider from forged-kid floods
      assertThat(sidecar.api("/menu", token(keyB, issuer)).statusCode()).isEqualTo(200);
    } finally {
      idp.stop(0);
    }
  }

  private static String token(RSAKey key, String issuer) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
        new JWTClaimsSet.Builder().issuer(issuer).subject("svc-" + key.getKeyID()).audience("where2eat")
            .issueTime(new Date()).expirationTime(Date.from(Instant.now().plusSeconds(300)))
            .claim("groups", List.of("food-team")).build());
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  private static void reply(com.sun.net.httpserver.HttpExchange ex, String body) throws java.io.IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(200, b.length);
    ex.getResponseBody().write(b);
    ex.close();
  }
}
