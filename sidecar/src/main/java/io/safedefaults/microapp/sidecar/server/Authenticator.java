package io.safedefaults.microapp.sidecar.server;

import com.nimbusds.jwt.JWTClaimsSet;
import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.audit.UserIdHasher;
import io.safedefaults.microapp.sidecar.http.Identity;
import io.safedefaults.microapp.sidecar.oidc.ClaimsMapper;
import io.safedefaults.microapp.sidecar.oidc.TokenRejected;
import io.safedefaults.microapp.sidecar.oidc.TokenValidator;
import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.safedefaults.microapp.sidecar.session.SessionData;
import io.safedefaults.microapp.sidecar.session.SessionRevocations;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;

/**
 * Who is asking (checklist 1): a bearer token from the provider (verified once, then cached) or
 * the session cookie (sealed, unexpired, not signed out). A request with neither, or with a
 * cookie that no longer opens, is anonymous and the next steps decide what that means; a bearer
 * token that fails verification is refused with 401 here. Also verifies the ID token of a sign-in
 * and records sign-outs, so tokens, cookies and revocations are read in one place.
 */
final class Authenticator {
  private final Vertx vertx;
  private final Clock clock;
  private final CookieJar cookies;
  private final SessionRevocations revocations;
  private final TokenValidator tokens; // null when no issuer (public apps only)
  private final ClaimsMapper claims;
  private final UserIdHasher ids;
  private final AuditLog audit;
  private final SidecarMetrics metrics;
  private final BearerCache bearerCache = new BearerCache();

  Authenticator(Vertx vertx, Clock clock, CookieJar cookies, SessionRevocations revocations, TokenValidator tokens,
      ClaimsMapper claims, Observability seen) {
    this.vertx = vertx;
    this.clock = clock;
    this.cookies = cookies;
    this.revocations = revocations;
    this.tokens = tokens;
    this.claims = claims;
    this.ids = seen.ids();
    this.audit = seen.audit();
    this.metrics = seen.metrics();
  }

  /** Sets the scope's identity (null: anonymous), or answers 401 for a rejected bearer token. */
  Future<Boolean> identify(RequestScope rq) {
    return Step.after(authenticate(rq), ar -> {
      if (ar.failed()) {
        String reason = ar.cause() instanceof TokenRejected t ? t.reason() : "token_check_failed";
        metrics.authFailure(reason);
        rq.outcome = "unauthenticated";
        audit.denied("invalid_token:" + reason, rq.user, rq.method(), rq.path());
        rq.req.response().putHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        Replies.json(rq.req, 401, "invalid_token", "The bearer token was rejected (" + reason + ").");
        return Step.DONE;
      }
      rq.identity = ar.result();
      return Step.NEXT;
    });
  }

  private Future<Identity> authenticate(RequestScope rq) {
    String authorization = rq.authorization;
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      if (tokens == null) {
        return Future.failedFuture(new TokenRejected("no_issuer"));
      }
      String token = authorization.substring(7).trim();
      long now = now();
      Identity cached = bearerCache.get(token, now);
      if (cached != null) {
        return Future.succeededFuture(cached);
      }
      // signature checks and a possible key refetch must not block the event loop
      return vertx.executeBlocking(() -> {
        JWTClaimsSet c = tokens.verifyBearer(token);
        long exp = c.getExpirationTime().toInstant().getEpochSecond();
        Identity who = claims.identity(c, exp);
        if (!safeSubject(who.subject())) {
          throw new TokenRejected("invalid_subject");
        }
        bearerCache.put(token, who, now);
        return who;
      }, false);
    }
    String raw = CookieJar.find(rq.req.headers().getAll("Cookie"), CookieJar.SESSION);
    if (raw == null) {
      return Future.succeededFuture(null);
    }
    SessionData s = cookies.readSession(raw);
    if (s == null) {
      // tampered, expired or from a rotated-out key: treat as signed out and drop it
      metrics.authFailure("invalid_session");
      rq.req.response().headers().add("Set-Cookie", CookieJar.clearSession());
      return Future.succeededFuture(null);
    }
    Identity who = new Identity(s.subject(), s.username(), s.email(), s.emailVerified(), s.groups(), s.mfa(),
        s.expiresAt());
    return Future.fromCompletionStage(revocations.isRevoked(s.sessionId()), vertx.getOrCreateContext()).map(revoked -> {
      if (!revoked) {
        return who;
      }
      // signed out earlier: a copy of the cookie kept (or stolen) from before the sign-out
      metrics.authFailure("session_revoked");
      audit.denied("session_revoked", ids.hash(s.subject()), rq.method(), rq.path());
      rq.req.response().headers().add("Set-Cookie", CookieJar.clearSession());
      return null;
    });
  }

  /** The ID token of a sign-in, verified off the event loop (signature, nonce, a key refetch). */
  Future<JWTClaimsSet> verifyIdToken(String idToken, String nonce) {
    return vertx.executeBlocking(() -> tokens.verifyIdToken(idToken, nonce), false);
  }

  /** The identity a sign-in's ID token names, valid until {@code expiresAt}. */
  Identity identity(JWTClaimsSet idClaims, long expiresAt) throws TokenRejected {
    return claims.identity(idClaims, expiresAt);
  }

  /** Forgets a session on the server side, so a copy of its cookie is worthless too. */
  Future<Void> revoke(SessionData session) {
    return Future.fromCompletionStage(revocations.revoke(session.sessionId(), session.expiresAt()),
        vertx.getOrCreateContext());
  }

  /** A subject usable as an account id: present, at most 255 characters, no control characters. */
  static boolean safeSubject(String sub) {
    if (sub == null || sub.isEmpty() || sub.length() > 255) {
      return false;
    }
    for (char c : sub.toCharArray()) {
      if (c < 0x20 || c == 0x7f) {
        return false;
      }
    }
    return true;
  }

  private long now() {
    return clock.millis() / 1000;
  }
}
