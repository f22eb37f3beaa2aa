package io.safedefaults.microapp.sidecar.oidc;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.MalformedURLException;
import java.text.ParseException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Verifies ID tokens and bearer JWTs with Nimbus JOSE+JWT (checklist 1): signature with the
 * provider's published keys only, exact issuer, our client id in the audience, exp/nbf with 30 s of
 * clock skew. Only asymmetric algorithms are accepted: 'none' and HMAC (whose "key" a forger could
 * pick to be the public key) are rejected before any key is looked up. The key set is cached and
 * refetched (rate limited) when a token names a key id we have not seen, so provider key rotation
 * needs no restart.
 */
public final class TokenValidator {
  static final int CLOCK_SKEW_SECONDS = 30;
  private static final Set<JWSAlgorithm> ACCEPTED = Set.of(
      JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
      JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512,
      JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512, JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);

  private final DefaultJWTProcessor<SecurityContext> idTokens;
  private final DefaultJWTProcessor<SecurityContext> bearerTokens;
  private final String clientId;

  /** @param jwks fetches jwks_uri; {@link ProviderHttp#jwksRetriever()}, so it trusts what discovery trusted */
  public TokenValidator(OidcProvider provider, String clientId, ResourceRetriever jwks) {
    this.clientId = clientId;
    JWKSource<SecurityContext> keys;
    try {
      keys = JWKSourceBuilder.<SecurityContext>create(provider.jwksUri().toURL(), jwks)
          .cache(15 * 60_000L, 10_000L)
          .rateLimited(10_000L) // an unknown kid refetches the keys at most every 10 s
          .retrying(true)
          .build();
    } catch (MalformedURLException e) {
      throw new IllegalArgumentException("jwks_uri is not a URL", e);
    }
    JWSVerificationKeySelector<SecurityContext> selector = new JWSVerificationKeySelector<>(ACCEPTED, keys);
    this.idTokens = processor(selector, provider.issuer(), clientId,
        new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, null));
    this.bearerTokens = processor(selector, provider.issuer(), clientId,
        new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, new JOSEObjectType("at+jwt"), null));
  }

  private static DefaultJWTProcessor<SecurityContext> processor(JWSVerificationKeySelector<SecurityContext> selector,
      String issuer, String clientId, DefaultJOSEObjectTypeVerifier<SecurityContext> types) {
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    p.setJWSKeySelector(selector);
    p.setJWSTypeVerifier(types);
    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
        Set.of(clientId), new JWTClaimsSet.Builder().issuer(issuer).build(), Set.of("sub", "exp", "iat"), null);
    claims.setMaxClockSkew(CLOCK_SKEW_SECONDS);
    p.setJWTClaimsSetVerifier(claims);
    return p;
  }

  /** Verifies an ID token from our own code exchange; the nonce must be the one we sent. */
  public JWTClaimsSet verifyIdToken(String token, String expectedNonce) throws TokenRejected {
    JWTClaimsSet claims = verify(idTokens, token);
    Object nonce = claims.getClaim("nonce");
    if (expectedNonce == null || !expectedNonce.equals(nonce)) {
      throw new TokenRejected("nonce_mismatch");
    }
    checkAuthorizedParty(claims);
    return claims;
  }

  /** Verifies an {@code Authorization: Bearer} JWT from an API client. */
  public JWTClaimsSet verifyBearer(String token) throws TokenRejected {
    JWTClaimsSet claims = verify(bearerTokens, token);
    checkAuthorizedParty(claims);
    return claims;
  }

  /** OIDC Core 3.1.3.7: with several audiences, azp must be us. */
  private void checkAuthorizedParty(JWTClaimsSet claims) throws TokenRejected {
    List<String> aud = claims.getAudience();
    Object azp = claims.getClaim("azp");
    if (aud.size() > 1 && azp != null && !clientId.equals(azp)) {
      throw new TokenRejected("wrong_audience");
    }
  }

  private static JWTClaimsSet verify(DefaultJWTProcessor<SecurityContext> processor, String token) throws TokenRejected {
    if (token == null || token.length() > 16_384) {
      throw new TokenRejected("malformed");
    }
    JWT jwt;
    try {
      jwt = JWTParser.parse(token);
    } catch (ParseException e) {
      throw new TokenRejected("malformed");
    }
    if (jwt instanceof PlainJWT) {
      throw new TokenRejected("alg_none");
    }
    if (!(jwt instanceof SignedJWT signed)) {
      throw new TokenRejected("encrypted_token"); // JWE would need our private key; we have none
    }
    JWSHeader header = signed.getHeader();
    if (!ACCEPTED.contains(header.getAlgorithm())) {
      throw new TokenRejected(JWSAlgorithm.Family.HMAC_SHA.contains(header.getAlgorithm()) ? "alg_hmac" : "alg_not_allowed");
    }
    if (header.getJWK() != null || header.getJWKURL() != null || header.getX509CertChain() != null
        || header.getX509CertURL() != null) {
      // embedded or remote keys would let a forger supply their own key; we only trust jwks_uri
      throw new TokenRejected("embedded_key");
    }
    JWTClaimsSet claims;
    try {
      claims = processor.process(signed, null);
    } catch (BadJWTException e) {
      throw new TokenRejected(claimReason(e.getMessage()));
    } catch (BadJWSException e) {
      throw new TokenRejected("bad_signature");
    } catch (BadJOSEException e) {
      String m = String.valueOf(e.getMessage());
      throw new TokenRejected(m.contains("no matching key") ? "unknown_key" : m.contains("type") ? "wrong_type" : "rejected");
    } catch (com.nimbusds.jose.KeySourceException e) {
      // the provider's keys could not be fetched (any cause, not only a remote error): not the token's fault
      throw new TokenRejected("keys_unavailable");
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new TokenRejected("rejected");
    }
    // Nimbus checks exp and nbf but not iat: a token from the future is a forged or misissued one.
    if (claims.getIssueTime() != null
        && claims.getIssueTime().toInstant().isAfter(java.time.Instant.now().plusSeconds(CLOCK_SKEW_SECONDS))) {
      throw new TokenRejected("issued_in_the_future");
    }
    return claims;
  }

  private static String claimReason(String message) {
    String m = String.valueOf(message);
    if (m.contains("Expired")) {
      return "expired";
    }
    if (m.contains("before use time") || m.contains("nbf")) {
      return "not_yet_valid";
    }
    if (m.contains(" aud ")) {
      return "wrong_audience";
    }
    if (m.contains(" iss ")) {
      return "wrong_issuer";
    }
    if (m.contains("missing required claims")) {
      return "missing_claims";
    }
    return "invalid_claims";
  }

  static Set<String> stringSet(Object claim) {
    Set<String> out = new HashSet<>();
    if (claim instanceof String s) {
      out.add(s);
    } else if (claim instanceof List<?> l) {
      for (Object o : l) {
        if (o instanceof String s) {
          out.add(s);
        }
      }
    }
    return out;
  }
}
