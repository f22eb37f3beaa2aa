package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** API clients with Authorization: Bearer, and who gets in (checklist 1). */
class BearerTokenTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack();
  static final Map<String, Object> MEMBER = Map.of("groups", List.of("food-team"));

  private static void assertRejected(HttpResponse<String> rsp, String reason) {
    assertThat(rsp.statusCode()).isEqualTo(401);
    assertThat(rsp.headers().firstValue("WWW-Authenticate").orElseThrow()).contains("invalid_token");
    assertThat(new JsonObject(rsp.body()).getString("message")).contains(reason);
  }

  @Test
  void aValidTokenOfAnAllowedGroupReachesTheAppAsItsSubject() throws Exception {
    HttpResponse<String> rsp = stack.sidecar().api("/api/orders", stack.provider().bearer("svc-1", MEMBER));
    assertThat(rsp.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(rsp.body()).getJsonObject("headers").getJsonArray("x-forwarded-user").getString(0))
        .isEqualTo("svc-1");
  }

  /**
   * Users whose ids or groups differ only outside Latin-1, or by a ',' or '%', arrive as different
   * values the app decodes back to the claims; groups split at ',' exactly as issued.
   */
  @Test
  void identityValuesReachTheAppUnambiguously() throws Exception {
    java.util.Random random = new java.util.Random(Long.getLong("identity.seed", 1207));
    String[] parts = {"山田", "山由", "ali", "alı", "a,b", "a%2Cb", "Food Team", "é", "e\u0301", "😀", "x"};
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int n = 0; n < 12; n++) {
      String sub = parts[random.nextInt(parts.length)] + parts[random.nextInt(parts.length)] + n;
      List<String> groups = List.of("food-team", parts[random.nextInt(parts.length)], parts[random.nextInt(parts.length)]);
      HttpResponse<String> rsp = stack.sidecar().api("/api/orders", stack.provider().bearer(sub, Map.of("groups", groups)));
      assertThat(rsp.statusCode()).as(sub).isEqualTo(200);
      JsonObject headers = new JsonObject(rsp.body()).getJsonObject("headers");
      String user = headers.getJsonArray("x-forwarded-user").getString(0);
      assertThat(decode(user)).isEqualTo(sub);
      assertThat(seen.add(user)).as("%s arrives as a value no other user had", sub).isTrue();
      List<String> arrived = java.util.Arrays.stream(headers.getJsonArray("x-forwarded-groups").getString(0).split(",", -1))
          .map(BearerTokenTest::decode).toList();
      assertThat(arrived).containsExactlyElementsOf(groups);
    }
  }

  @Test
  void aTokenWhoseIdentityHoldsAControlCharacterIsRefused() throws Exception {
    for (String bad : List.of("\n", "\r", "\u0000", "\u0007", "\u007f", "\u0085", "\u2028")) {
      assertRejected(stack.sidecar().api("/api/orders",
          stack.provider().bearer("svc-1", Map.of("groups", List.of("food-team", "ops" + bad + "x")))), "invalid_claims");
      assertRejected(stack.sidecar().api("/api/orders",
          stack.provider().bearer("svc" + bad + "1", MEMBER)), "invalid_claims");
    }
  }

  @Test
  void theEmailGoesToTheAppOnlyWhenTheProviderVerifiedIt() throws Exception {
    JsonObject unverified = new JsonObject(stack.sidecar().api("/api/orders", stack.provider().bearer("svc-1",
        Map.of("groups", List.of("food-team"), "email", "boss@acme.com", "email_verified", false))).body());
    assertThat(unverified.getJsonObject("headers").fieldNames()).doesNotContain("x-forwarded-email");
    JsonObject verified = new JsonObject(stack.sidecar().api("/api/orders", stack.provider().bearer("svc-1",
        Map.of("groups", List.of("food-team"), "email", "boss@acme.com", "email_verified", true))).body());
    assertThat(verified.getJsonObject("headers").getJsonArray("x-forwarded-email").getString(0)).isEqualTo("boss@acme.com");
  }

  @Test
  void aTokenIssuedInTheFutureIsRejected() throws Exception {
    long later = Instant.now().plusSeconds(3600).getEpochSecond();
    String token = stack.provider().bearer("svc-1", Map.of("groups", List.of("food-team"), "iat", later));
    assertRejected(stack.sidecar().api("/api/orders", token), "issued_in_the_future");
  }

  static String decode(String sent) {
    return java.net.URLDecoder.decode(sent.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void anApiClientWithoutCredentialsGets401NotARedirect() throws Exception {
    HttpResponse<String> rsp = stack.sidecar().api("/api/orders", null);
    assertThat(rsp.statusCode()).isEqualTo(401);
    assertThat(rsp.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
    assertThat(rsp.headers().firstValue("Location")).isEmpty();
    assertThat(rsp.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/json");
  }

  @Test
  void aNonBearerAuthorizationHeaderIsNotASignIn() throws Exception {
    HttpResponse<String> rsp = stack.sidecar().api("/", null, "Authorization", "Basic YWRtaW46YWRtaW4=", "Accept", "text/html");
    assertThat(rsp.statusCode()).isEqualTo(401); // an Authorization header marks an API client: no redirect
  }

  @Test
  void anExpiredTokenIsRejected() throws Exception {
    String token = stack.provider().token(TestProvider.ISSUER_ID, "svc-1", TestProvider.CLIENT_ID, MEMBER, -120).serialize();
    assertRejected(stack.sidecar().api("/api/orders", token), "expired");
  }

  @Test
  void aTokenForAnotherAudienceIsRejected() throws Exception {
    String token = stack.provider().token(TestProvider.ISSUER_ID, "svc-1", "another-app", MEMBER, 3600).serialize();
    assertRejected(stack.sidecar().api("/api/orders", token), "wrong_audience");
  }

  @Test
  void aTokenFromAnotherIssuerIsRejected() throws Exception {
    // same provider software, other realm: other keys and another iss
    String token = stack.provider().token("other-realm", "svc-1", TestProvider.CLIENT_ID, MEMBER, 3600).serialize();
    HttpResponse<String> rsp = stack.sidecar().api("/api/orders", token);
    assertThat(rsp.statusCode()).isEqualTo(401);
  }

  @Test
  void aTokenSignedWithTheAttackersKeyUnderTheProvidersKeyIdIsRejected() throws Exception {
    SignedJWT real = stack.provider().token(TestProvider.ISSUER_ID, "svc-1", TestProvider.CLIENT_ID, MEMBER, 3600);
    RSAKey attacker = new RSAKeyGenerator(2048).keyID(real.getHeader().getKeyID()).generate();
    SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(attacker.getKeyID())
        .type(JOSEObjectType.JWT).build(), real.getJWTClaimsSet());
    forged.sign(new RSASSASigner(attacker));
    assertRejected(stack.sidecar().api("/api/orders", forged.serialize()), "bad_signature");
  }

  @Test
  void aTokenWithAnUnknownKeyIdIsRejected() throws Exception {
    SignedJWT real = stack.provider().token(TestProvider.ISSUER_ID, "svc-1", TestProvider.CLIENT_ID, MEMBER, 3600);
    RSAKey attacker = new RSAKeyGenerator(2048).keyID("attacker-key").generate();
    SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("attacker-key").build(),
        real.getJWTClaimsSet());
    forged.sign(new RSASSASigner(attacker));
    assertRejected(stack.sidecar().api("/api/orders", forged.serialize()), "unknown_key");
  }

  @Test
  void anUnsignedAlgNoneTokenIsRejected() throws Exception {
    JWTClaimsSet claims = stack.provider().token(TestProvider.ISSUER_ID, "svc-1", TestProvider.CLIENT_ID, MEMBER, 3600)
        .getJWTClaimsSet();
    assertRejected(stack.sidecar().api("/api/orders", new PlainJWT(claims).serialize()), "alg_none");
  }

  @Test
  void anHmacTokenIsRejectedWhateverTheSecret() throws Exception {
    SignedJWT real = stack.provider().token(TestProvider.ISSUER_ID, "svc-1", TestProvider.CLIENT_ID, MEMBER, 3600);
    SignedJWT hmac = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(real.getHeader().getKeyID()).build(),
        real.getJWTClaimsSet());
    hmac.sign(new MACSigner(new byte[32]));
    assertRejected(stack.sidecar().api("/api/orders", hmac.serialize()), "alg_hmac");
  }

  @Test
  void aTokenNotYetValidIsRejectedButSmallClockSkewIsTolerated() throws Exception {
    Map<String, Object> future = new java.util.HashMap<>(MEMBER);
    future.put("nbf", Date.from(Instant.now().plusSeconds(600)));
    assertRejected(stack.sidecar().api("/api/orders", stack.provider().token(TestProvider.ISSUER_ID, "svc-1", TestProvider.CLIENT_ID,
        future, 3600).serialize()), "not_yet_valid");

    String tenSecondsLate = stack.provider().token(TestProvider.ISSUER_ID, "svc-2", TestProvider.CLIENT_ID, MEMBER, -10).serialize();
    assertThat(stack.sidecar().api("/api/orders", tenSecondsLate).statusCode()).isEqualTo(200);
  }

  @Test
  void membersOfOtherGroupsAreDenied() throws Exception {
    HttpResponse<String> rsp = stack.sidecar().api("/api/orders",
        stack.provider().bearer("outsider", Map.of("groups", List.of("finance"), "email", "eve@evil.com", "email_verified", true)));
    assertThat(rsp.statusCode()).isEqualTo(403);
    assertThat(new JsonObject(rsp.body()).getString("error")).isEqualTo("forbidden");
  }

  @Test
  void aVerifiedAddressInAnAllowedDomainIsEnoughWithoutTheGroup() throws Exception {
    HttpResponse<String> rsp = stack.sidecar().api("/api/orders",
        stack.provider().bearer("colleague", Map.of("email", "Pat@ACME.com", "email_verified", true)));
    assertThat(rsp.statusCode()).isEqualTo(200);
  }

  @Test
  void domainTricksAndUnverifiedAddressesAreDenied() throws Exception {
    for (String email : List.of("eve@evil.com@acme.com", "eve@acme.com.evil.com", "eve@evilacme.com", "eve@sub.acme.com",
        "acme.com", "@acme.com", "eve@acme.com.")) {
      HttpResponse<String> rsp = stack.sidecar().api("/api/orders",
          stack.provider().bearer("eve", Map.of("email", email, "email_verified", true)));
      assertThat(rsp.statusCode()).as(email).isEqualTo(403);
    }
    HttpResponse<String> unverified = stack.sidecar().api("/api/orders",
        stack.provider().bearer("eve", Map.of("email", "eve@acme.com", "email_verified", false)));
    assertThat(unverified.statusCode()).isEqualTo(403);
  }

  @Test
  void adminPathsNeedAnMfaClaimAndApiClientsGetAClear403() throws Exception {
    HttpResponse<String> noMfa = stack.sidecar().api("/admin/settings", stack.provider().bearer("ops", Map.of(
        "groups", List.of("food-team"), "amr", List.of("pwd"))));
    assertThat(noMfa.statusCode()).isEqualTo(403);
    JsonObject body = new JsonObject(noMfa.body());
    assertThat(body.getString("error")).isEqualTo("mfa_required");
    assertThat(body.getString("message")).contains("multi-factor");
    assertThat(noMfa.headers().firstValue("WWW-Authenticate").orElseThrow()).contains("insufficient_user_authentication");

    HttpResponse<String> withMfa = stack.sidecar().api("/admin/settings", stack.provider().bearer("ops", Map.of(
        "groups", List.of("food-team"), "amr", List.of("pwd", "otp"))));
    assertThat(withMfa.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(withMfa.body()).getString("uri")).isEqualTo("/admin/settings");

    HttpResponse<String> export = stack.sidecar().api("/export", stack.provider().bearer("ops", Map.of("groups", List.of("food-team"))));
    assertThat(export.statusCode()).isEqualTo(403);
    HttpResponse<String> notAdmin = stack.sidecar().api("/exports", stack.provider().bearer("ops", Map.of("groups", List.of("food-team"))));
    assertThat(notAdmin.statusCode()).isEqualTo(200); // a plain path matches exactly
  }

  @Test
  void tokensAreNotAcceptedAfterExpiryEvenFromTheCache() throws Exception {
    String shortLived = stack.provider().token(TestProvider.ISSUER_ID, "svc-3", TestProvider.CLIENT_ID, MEMBER, -27).serialize();
    // within skew now (27 s late < 30 s) ...
    assertThat(stack.sidecar().api("/api/orders", shortLived).statusCode()).isEqualTo(200);
    // ... and the cache keeps it no longer than its exp: a second call a few seconds later must
    // still be judged against exp + skew by the processor, never by a stale cache entry
    Thread.sleep(4_000);
    assertThat(stack.sidecar().api("/api/orders", shortLived).statusCode()).isEqualTo(401);
  }
}
