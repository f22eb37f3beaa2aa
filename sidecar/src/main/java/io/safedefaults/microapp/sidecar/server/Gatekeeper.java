package io.safedefaults.microapp.sidecar.server;

import com.nimbusds.jwt.JWTClaimsSet;
import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.audit.UserIdHasher;
import io.safedefaults.microapp.sidecar.config.SidecarConfig;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.Visibility;
import io.safedefaults.microapp.sidecar.http.ForwardedHeaders;
import io.safedefaults.microapp.sidecar.http.Identity;
import io.safedefaults.microapp.sidecar.http.IdentityHeaders;
import io.safedefaults.microapp.sidecar.http.PathPattern;
import io.safedefaults.microapp.sidecar.http.PathRejected;
import io.safedefaults.microapp.sidecar.http.RequestPath;
import io.safedefaults.microapp.sidecar.http.SameOrigin;
import io.safedefaults.microapp.sidecar.purge.PurgeSignature;
import io.safedefaults.microapp.sidecar.http.SecureHeaders;
import io.safedefaults.microapp.sidecar.oidc.AccessPolicy;
import io.safedefaults.microapp.sidecar.oidc.ClaimsMapper;
import io.safedefaults.microapp.sidecar.oidc.LoginFlow;
import io.safedefaults.microapp.sidecar.oidc.MfaRequirement;
import io.safedefaults.microapp.sidecar.oidc.TokenRejected;
import io.safedefaults.microapp.sidecar.oidc.TokenValidator;
import io.safedefaults.microapp.sidecar.ratelimit.LimitSpec;
import io.safedefaults.microapp.sidecar.ratelimit.LocalRateLimiter;
import io.safedefaults.microapp.sidecar.ratelimit.RateLimitDecision;
import io.safedefaults.microapp.sidecar.ratelimit.RateLimiter;
import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.safedefaults.microapp.sidecar.session.LoginState;
import io.safedefaults.microapp.sidecar.session.SessionData;
import io.safedefaults.microapp.sidecar.session.SessionRevocations;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.HostAndPort;
import io.vertx.httpproxy.HttpProxy;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Decides, for every request on the app port, whether it reaches the app (checklists 1-5), in this
 * order: normalise the path (400 if it cannot be read one way only), per-IP limit, the sidecar's
 * own routes (callback, logout), sign-in, authorisation, per-user and per-path limits, MFA for
 * admin paths, then forwarding with the identity headers rewritten. Every answer, the app's
 * included, gets the secure headers.
 */
final class Gatekeeper {
  static final String LOGOUT_PATH = "/oauth2/logout";
  static final String ACME_PREFIX = "/.well-known/acme-challenge/";
  private static final Pattern HOST = Pattern.compile("^(\\[[0-9a-fA-F:.]+]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$");

  private final Vertx vertx;
  private final SidecarConfig config;
  private final Clock clock;
  private final CookieJar cookies;
  private final SessionRevocations revocations;
  private final TokenValidator tokens; // null when no issuer (public apps only)
  private final LoginFlow login; // null when no issuer
  private final ClaimsMapper claims;
  private final AccessPolicy access;
  private final MfaRequirement mfa;
  private final RateLimiter limiter;
  private final LimitSpec perIp;
  private final LimitSpec perUser;
  private final List<PathPattern> quotaPaths;
  private final List<LimitSpec> quotas;
  private final SecureHeaders secureHeaders;
  private final ForwardedHeaders forwarded;
  private final UserIdHasher ids;
  private final AuditLog audit;
  private final SidecarMetrics metrics;
  private final UserDataRoutes userData; // null when the app declares no export/delete endpoints
  private final PurgeGate purge; // null when no HTTP purge is scheduled
  private final BearerCache bearerCache = new BearerCache();
  private final SecureRandom random = new SecureRandom();

  Gatekeeper(Vertx vertx, SidecarConfig config, Clock clock, CookieJar cookies, SessionRevocations revocations,
      TokenValidator tokens, LoginFlow login, ClaimsMapper claims, AccessPolicy access, MfaRequirement mfa, RateLimiter limiter, ForwardedHeaders forwarded,
      UserIdHasher ids, AuditLog audit, SidecarMetrics metrics, UserDataRoutes userData, PurgeGate purge) {
    this.vertx = vertx;
    this.userData = userData;
    this.purge = purge;
    this.config = config;
    this.clock = clock;
    this.cookies = cookies;
    this.revocations = revocations;
    this.tokens = tokens;
    this.login = login;
    this.claims = claims;
    this.access = access;
    this.mfa = mfa;
    this.limiter = limiter;
    this.forwarded = forwarded;
    this.ids = ids;
    this.audit = audit;
    this.metrics = metrics;
    SidecarConfig.RateLimit rl = config.rateLimit();
    this.perIp = rl.perIpPerMinute() == 0 ? null : LimitSpec.perMinute("ip", rl.perIpPerMinute(), rl.perIpBurstPerSecond());
    this.perUser = LimitSpec.perMinute("user", rl.perUserPerMinute(), 0);
    this.quotaPaths = rl.perPathQuotas().stream().map(q -> PathPattern.compile(q.path())).toList();
    this.quotas = rl.perPathQuotas().stream().map(q -> LimitSpec.perMinute("path:" + q.path(), q.perUserPerMinute(), 0))
        .toList();
    this.secureHeaders = new SecureHeaders(config.hsts(), config.csp());
    this.publicOrigin = SameOrigin.originOf(config.publicUrl());
  }

  /** Per-request state, for the access log and the headers written last. */
  private static final class Exchange {
    final HttpServerRequest req;
    final long started = System.nanoTime();
    RequestPath path;
    String client = "unknown";
    String user = "anonymous";
    String outcome = "proxied";
    RateLimitDecision limit;
    boolean browser;

    Exchange(HttpServerRequest req) {
      this.req = req;
    }
  }

  void handle(HttpServerRequest req, HttpProxy proxy) {
    req.pause(); // nothing of the body moves until we decided; the proxy resumes it
    Exchange ex = new Exchange(req);
    HttpServerResponse rsp = req.response();
    rsp.headersEndHandler(v -> {
      secureHeaders.apply(rsp.headers());
      if (ex.limit != null) {
        ex.limit.writeHeaders(rsp.headers());
      }
    });
    StrictHttp.Refusal refusal = StrictHttp.check(req);
    boolean close = refusal != null || StrictHttp.mustClose(req);
    rsp.endHandler(v -> {
      finish(ex);
      if (close) {
        req.connection().close();
      }
    });
    if (close) {
      rsp.putHeader("Connection", "close");
    }
    if (refusal != null) {
      ex.outcome = "bad_request";
      Replies.json(req, refusal.status(), refusal.error(), refusal.message());
      return;
    }
    try {
      ex.path = RequestPath.parse(req.uri());
    } catch (PathRejected e) {
      ex.outcome = "bad_request";
      audit.denied("path_rejected", ex.user, req.method().name(), null);
      Replies.json(req, 400, "bad_request", "The request path cannot be interpreted safely: " + e.getMessage() + ".");
      return;
    }
    InetAddress peer = peerAddress(req);
    ex.client = forwarded.clientAddress(peer, req.headers());
    String authorization = req.getHeader("Authorization");
    String accept = req.getHeader("Accept");
    ex.browser = authorization == null && accept != null && accept.toLowerCase(Locale.ROOT).contains("text/html");

    if (perIp == null) {
      route(ex, proxy, peer, authorization);
      return;
    }
    consume(perIp, ForwardedHeaders.rateLimitKey(ex.client)).onComplete(ar -> {
      RateLimitDecision ip = ar.succeeded() ? ar.result() : null;
      ex.limit = ip;
      if (ip != null && !ip.allowed()) {
        rateLimited(ex, ip, ids.hashAddress(ex.client));
        return;
      }
      route(ex, proxy, peer, authorization);
    });
  }

  private void route(Exchange ex, HttpProxy proxy, InetAddress peer, String authorization) {
    HttpServerRequest req = ex.req;
    String path = ex.path.path();
    if (path.equals(config.oidc().redirectPath())) {
      callback(ex);
      return;
    }
    if (path.equals(LOGOUT_PATH)) {
      logout(ex);
      return;
    }
    if (purge != null && purge.isPurgePath(path)) {
      purge(ex, proxy, peer, authorization);
      return;
    }
    if (acmeChallenge(req, path)) {
      // cert-manager's HTTP-01 solver must reach the token without signing in (decided on the
      // normalised path, so /.well-known/acme-challenge/../../admin is /admin and not skipped)
      forward(ex, proxy, peer, null);
      return;
    }
    authenticate(ex, authorization).onComplete(ar -> {
      if (ar.failed()) {
        String reason = ar.cause() instanceof TokenRejected t ? t.reason() : "token_check_failed";
        metrics.authFailure(reason);
        ex.outcome = "unauthenticated";
        audit.denied("invalid_token:" + reason, ex.user, req.method().name(), path);
        req.response().putHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        Replies.json(req, 401, "invalid_token", "The bearer token was rejected (" + reason + ").");
        return;
      }
      Identity who = ar.result();
      if (who == null) {
        anonymous(ex, proxy, peer, authorization);
      } else if (authorization == null && !SameOrigin.allows(req.method(), req.headers(), appOrigin(req))) {
        crossSite(ex);
      } else {
        authorised(ex, proxy, peer, who);
      }
    });
  }

  private void anonymous(Exchange ex, HttpProxy proxy, InetAddress peer, String authorization) {
    HttpServerRequest req = ex.req;
    boolean admin = mfa.isAdminPath(ex.path.path());
    if (config.visibility() == Visibility.PUBLIC && !admin) {
      forward(ex, proxy, peer, null);
      return;
    }
    if (login == null) {
      // a public app without an issuer has no way to sign anyone in to its admin paths
      ex.outcome = "forbidden";
      audit.denied("admin_path_without_issuer", ex.user, req.method().name(), ex.path.path());
      Replies.error(req, ex.browser, 403, "forbidden", "Forbidden", "This path needs a signed-in administrator.");
      return;
    }
    boolean navigable = ex.browser && (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD)
        && !req.canUpgradeToWebSocket();
    if (navigable) {
      startLogin(ex, admin && config.adminPaths().required());
      return;
    }
    metrics.authFailure(authorization == null ? "no_credentials" : "unsupported_scheme");
    ex.outcome = "unauthenticated";
    req.response().putHeader("WWW-Authenticate", "Bearer");
    Replies.json(req, 401, "unauthenticated",
        "Sign in first: send a bearer token from the organisation's identity provider, or open the app in a browser.");
  }

  private void authorised(Exchange ex, HttpProxy proxy, InetAddress peer, Identity who) {
    HttpServerRequest req = ex.req;
    String path = ex.path.path();
    ex.user = ids.hash(who.subject());
    String denied = access.deny(who);
    if (denied != null) {
      metrics.authFailure(denied);
      ex.outcome = "forbidden";
      audit.denied(denied, ex.user, req.method().name(), path);
      Replies.error(req, ex.browser, 403, "forbidden", "Access denied",
          "Your account is not allowed to use this app. Ask the app's owner to add your group.");
      return;
    }
    UserDataRoutes.Kind own = userData == null ? null : userData.kind(path);
    if (own != null && !UserDataRoutes.allows(own, req.method())) {
      ex.outcome = "bad_request";
      Replies.json(req, 405, "method_not_allowed", own == UserDataRoutes.Kind.EXPORT
          ? "Your data export is fetched with GET." : "Deleting your data takes a POST or DELETE request.");
      return;
    }
    consume(perUser, ex.user).compose(user -> {
      RateLimitDecision tight = RateLimitDecision.tightest(ex.limit, user);
      if (own != null && user.allowed()) {
        RateLimitDecision prior = tight;
        return consume(userData.limit(own), ex.user).map(q -> RateLimitDecision.tightest(prior, q));
      }
      for (int i = 0; i < quotaPaths.size(); i++) {
        if (quotaPaths.get(i).matches(path) && user.allowed()) {
          LimitSpec spec = quotas.get(i);
          RateLimitDecision prior = tight;
          return consume(spec, ex.user).map(q -> RateLimitDecision.tightest(prior, q));
        }
      }
      return Future.succeededFuture(tight);
    }).onComplete(ar -> {
      if (ar.succeeded()) {
        ex.limit = ar.result();
        if (!ex.limit.allowed()) {
          rateLimited(ex, ex.limit, ex.user);
          return;
        }
      }
      if (mfa.needsStepUp(path, who.mfa())) {
        audit.stepUp(ex.user, req.method().name(), path);
        metrics.authFailure("mfa_required");
        if (ex.browser && req.method() == HttpMethod.GET && login != null) {
          ex.outcome = "step_up";
          startLogin(ex, true);
          return;
        }
        ex.outcome = "mfa_required";
        String acr = mfa.acrValues().isEmpty() ? "" : ", acr_values=\"" + String.join(" ", mfa.acrValues()) + "\"";
        req.response().putHeader("WWW-Authenticate", "Bearer error=\"insufficient_user_authentication\", "
            + "error_description=\"A multi-factor sign-in is required for this path\"" + acr);
        Replies.error(req, ex.browser, 403, "mfa_required", "Second factor required",
            "This path needs a multi-factor sign-in (amr one of " + String.join(", ", mfa.amrValues())
                + "). Sign in again with a second factor and retry.");
        return;
      }
      if (own != null) {
        audit.userData(own == UserDataRoutes.Kind.EXPORT ? "user_data_export" : "user_data_delete", ex.user,
            req.method().name());
      } else if (mfa.isAdminPath(path)) {
        audit.adminAccess(ex.user, req.method().name(), path);
      }
      forward(ex, proxy, peer, who);
    });
  }

  private Future<Identity> authenticate(Exchange ex, String authorization) {
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
    String raw = CookieJar.find(ex.req.headers().getAll("Cookie"), CookieJar.SESSION);
    if (raw == null) {
      return Future.succeededFuture(null);
    }
    SessionData s = cookies.readSession(raw);
    if (s == null) {
      // tampered, expired or from a rotated-out key: treat as signed out and drop it
      metrics.authFailure("invalid_session");
      ex.req.response().headers().add("Set-Cookie", CookieJar.clearSession());
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
      audit.denied("session_revoked", ids.hash(s.subject()), ex.req.method().name(), ex.path.path());
      ex.req.response().headers().add("Set-Cookie", CookieJar.clearSession());
      return null;
    });
  }

  private void startLogin(Exchange ex, boolean stepUp) {
    HttpServerRequest req = ex.req;
    String redirectUri = redirectUri(req);
    if (redirectUri == null) {
      ex.outcome = "bad_request";
      Replies.json(req, 400, "bad_request", "The Host header is missing or malformed.");
      return;
    }
    LoginFlow.Start start = login.start(ex.path.forwardTarget(), stepUp, redirectUri, now());
    ex.outcome = stepUp ? "step_up" : "login_redirect";
    req.response().headers().add("Set-Cookie", cookies.loginCookie(start.state()));
    Replies.redirect(req, start.authorizeUrl().toString());
  }

  private void callback(Exchange ex) {
    HttpServerRequest req = ex.req;
    ex.browser = true;
    if (login == null || req.method() != HttpMethod.GET) {
      ex.outcome = "bad_request";
      Replies.json(req, 400, "bad_request", "Sign-in callbacks are GET requests from the identity provider.");
      return;
    }
    HttpServerResponse rsp = req.response();
    rsp.headers().add("Set-Cookie", CookieJar.clearLogin()); // one use only
    String rawState = CookieJar.find(req.headers().getAll("Cookie"), CookieJar.LOGIN);
    LoginState state = rawState == null ? null : cookies.readLogin(rawState);
    String stateParam = req.getParam("state");
    if (state == null || stateParam == null || !MessageDigest.isEqual(
        state.state().getBytes(StandardCharsets.US_ASCII), stateParam.getBytes(StandardCharsets.US_ASCII))) {
      callbackFailed(ex, "state_mismatch", 400, "The sign-in could not be matched to this browser. Open the app and sign in again.");
      return;
    }
    if (req.getParam("error") != null) {
      callbackFailed(ex, "provider_error", 403, "The identity provider did not sign you in.");
      return;
    }
    String code = req.getParam("code");
    String redirectUri = redirectUri(req);
    if (code == null || redirectUri == null) {
      callbackFailed(ex, "missing_code", 400, "The sign-in response was incomplete. Open the app and sign in again.");
      return;
    }
    Context context = vertx.getOrCreateContext();
    Future.fromCompletionStage(login.exchange(code, state, redirectUri), context)
        .compose(idToken -> vertx.executeBlocking(() -> tokens.verifyIdToken(idToken, state.nonce()), false))
        .onComplete(ar -> {
          if (ar.failed()) {
            String reason = ar.cause() instanceof TokenRejected t ? "id_token_" + t.reason() : "token_exchange_failed";
            callbackFailed(ex, reason, 403, "The sign-in could not be completed. Open the app and sign in again.");
            return;
          }
          completeSignIn(ex, state, ar.result());
        });
  }

  private void completeSignIn(Exchange ex, LoginState state, JWTClaimsSet idClaims) {
    HttpServerRequest req = ex.req;
    long now = now();
    long exp = now + cookies.sessionTtlSeconds();
    Identity who;
    try {
      who = claims.identity(idClaims, exp);
    } catch (TokenRejected e) {
      callbackFailed(ex, e.reason(), 403, "The identity provider returned an account the app cannot use.");
      return;
    }
    if (!safeSubject(who.subject())) {
      callbackFailed(ex, "invalid_subject", 403, "The identity provider returned an unusable account id.");
      return;
    }
    ex.user = ids.hash(who.subject());
    String denied = access.deny(who);
    if (denied != null) {
      metrics.authFailure(denied);
      ex.outcome = "forbidden";
      audit.denied(denied, ex.user, "GET", config.oidc().redirectPath());
      Replies.html(req, 403, "Access denied", "Your account is not allowed to use this app. Ask the app's owner to add your group.");
      return;
    }
    SessionData session = new SessionData(1, newSessionId(), who.subject(), who.username(), who.email(),
        who.emailVerified(), access.groupsToKeep(who.groups()), who.mfa(), now, exp);
    req.response().headers().add("Set-Cookie", cookies.sessionCookie(session));
    audit.signIn(ex.user, who.mfa(), state.stepUp());
    if (state.stepUp() && !who.mfa() && config.adminPaths().required()) {
      metrics.authFailure("mfa_not_proved");
      ex.outcome = "mfa_required";
      Replies.html(req, 403, "Second factor required",
          "This page needs a sign-in with a second factor, and the identity provider did not report one.");
      return;
    }
    ex.outcome = "signed_in";
    Replies.continueTo(req, safeReturnTo(state.returnTo()));
  }

  private void callbackFailed(Exchange ex, String reason, int status, String message) {
    metrics.authFailure(reason);
    ex.outcome = "callback_failed";
    audit.denied(reason, ex.user, ex.req.method().name(), ex.path.path());
    Replies.html(ex.req, status, "Sign-in failed", message);
  }

  /** A request a page on another site made with this app's session cookie (see SameOrigin). */
  private void crossSite(Exchange ex) {
    ex.outcome = "forbidden";
    metrics.authFailure("cross_site");
    audit.denied("cross_site", ex.user, ex.req.method().name(), ex.path.path());
    Replies.error(ex.req, ex.browser, 403, "cross_site_request", "Request refused",
        "This request came from another site. Open the app and try again from there.");
  }

  private String appOrigin(HttpServerRequest req) {
    return publicOrigin != null ? publicOrigin : SameOrigin.originOf("http://" + req.authority());
  }

  /**
   * Signing out changes state, so it is a same-origin POST like any other change; a GET (a link,
   * an image another site embeds) only shows a page whose button makes that POST.
   */
  private void logout(Exchange ex) {
    HttpServerRequest req = ex.req;
    if (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD) {
      ex.outcome = "logout_page";
      Replies.logoutPage(req, LOGOUT_PATH);
      return;
    }
    if (req.method() != HttpMethod.POST) {
      ex.outcome = "bad_request";
      Replies.json(req, 405, "method_not_allowed", "Sign out with a POST request.");
      return;
    }
    if (!SameOrigin.allows(req.method(), req.headers(), appOrigin(req))) {
      crossSite(ex);
      return;
    }
    String raw = CookieJar.find(req.headers().getAll("Cookie"), CookieJar.SESSION);
    SessionData s = raw == null ? null : cookies.readSession(raw);
    if (s != null) {
      audit.signOut(ids.hash(s.subject()));
      // the browser forgets the cookie; the sidecar forgets the session, so a copy is worthless too
      Future.fromCompletionStage(revocations.revoke(s.sessionId(), s.expiresAt()), vertx.getOrCreateContext())
          .onComplete(ar -> signedOut(ex));
      return;
    }
    signedOut(ex);
  }

  private void signedOut(Exchange ex) {
    HttpServerRequest req = ex.req;
    req.response().headers().add("Set-Cookie", CookieJar.clearSession());
    ex.outcome = "signed_out";
    java.net.URI end = login == null ? null : login.logoutUrl(config.publicUrl() == null ? null : config.publicUrl() + "/");
    if (ex.browser && end != null) {
      Replies.redirect(req, end.toString());
    } else if (ex.browser) {
      Replies.html(req, 200, "Signed out", "You are signed out of this app.");
    } else {
      req.resume();
      req.response().setStatusCode(204).end();
    }
  }

  private void purge(Exchange ex, HttpProxy proxy, InetAddress peer, String authorization) {
    HttpServerRequest req = ex.req;
    if (!purge.authorised(authorization)) {
      metrics.authFailure("purge_token_invalid");
      ex.outcome = "forbidden";
      audit.denied("purge_token_invalid", ex.user, req.method().name(), ex.path.path());
      Replies.json(req, 403, "forbidden", "This endpoint is reserved for the scheduled purge job.");
      return;
    }
    ex.user = "purge-job";
    audit.purge(req.method().name());
    req.headers().remove("Authorization"); // the app never needs the job's token
    forward(ex, proxy, peer, null);
  }

  private void forward(Exchange ex, HttpProxy proxy, InetAddress peer, Identity who) {
    HttpServerRequest req = ex.req;
    MultiMap h = req.headers();
    removeConnectionListed(h);
    IdentityHeaders.strip(h);
    if (!"purge-job".equals(ex.user)) {
      h.remove(PurgeSignature.HEADER); // only the purge job's call, checked against its token, carries one
    }
    HostAndPort authority = req.authority();
    forwarded.rewrite(h, peer, authority == null ? null : authority.toString());
    if (who != null) {
      IdentityHeaders.add(h, who);
    }
    List<String> cookieHeaders = h.getAll("Cookie");
    if (!cookieHeaders.isEmpty()) {
      String rest = CookieJar.withoutOwnCookies(cookieHeaders);
      h.remove("Cookie");
      if (!rest.isEmpty()) {
        h.set("Cookie", rest);
      }
    }
    ex.outcome = "proxied";
    proxy.handle(req);
  }

  /** RFC 9110 7.6.1: headers named in Connection are hop-by-hop; identity headers are re-added after. */
  private static void removeConnectionListed(MultiMap h) {
    List<String> listed = new ArrayList<>();
    for (String value : h.getAll("Connection")) {
      for (String token : value.split(",")) {
        String t = token.trim();
        if (!t.isEmpty() && !t.equalsIgnoreCase("upgrade") && !t.equalsIgnoreCase("keep-alive")
            && !t.equalsIgnoreCase("close")) {
          listed.add(t);
        }
      }
    }
    listed.forEach(h::remove);
  }

  private void rateLimited(Exchange ex, RateLimitDecision d, String keyHash) {
    ex.limit = d;
    ex.outcome = "rate_limited";
    metrics.rateLimited(d.name());
    audit.rateLimited(d.name(), keyHash, ex.req.method().name(), ex.path.path());
    Replies.json(ex.req, 429, "rate_limited",
        "Too many requests; retry after " + d.retryAfterSeconds() + " s.");
  }

  private Future<RateLimitDecision> consume(LimitSpec spec, String key) {
    if (limiter instanceof LocalRateLimiter local) {
      return Future.succeededFuture(local.consume(spec, key));
    }
    return Future.fromCompletionStage(limiter.tryConsume(spec, key), vertx.getOrCreateContext());
  }

  private String redirectUri(HttpServerRequest req) {
    if (config.publicUrl() != null) {
      String base = config.publicUrl().endsWith("/") ? config.publicUrl().substring(0, config.publicUrl().length() - 1)
          : config.publicUrl();
      return base + config.oidc().redirectPath();
    }
    // no host configured: in-cluster use, e.g. through kubectl port-forward to localhost
    HostAndPort authority = req.authority();
    if (authority == null || !HOST.matcher(authority.toString()).matches()) {
      return null;
    }
    String host = authority.host();
    boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
    return (loopback ? "http://" : "https://") + authority + config.oidc().redirectPath();
  }

  /** The return target is always our own normalised relative path; anything else goes to "/". */
  private static String safeReturnTo(String target) {
    if (target == null || !target.startsWith("/") || target.startsWith("//") || target.contains("\\")) {
      return "/";
    }
    return target;
  }

  private static boolean safeSubject(String sub) {
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

  private String newSessionId() {
    byte[] b = new byte[16];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static InetAddress peerAddress(HttpServerRequest req) {
    try {
      return req.remoteAddress() == null || req.remoteAddress().hostAddress() == null ? null
          : InetAddress.getByName(req.remoteAddress().hostAddress());
    } catch (Exception e) {
      return null;
    }
  }

  /**
   * cert-manager's HTTP-01 solver fetches one token (RFC 8555 8.3: a single base64url segment) with
   * GET; nothing else under the prefix, no other method and no deeper path skips sign-in.
   */
  static boolean acmeChallenge(HttpServerRequest req, String path) {
    return (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD) && path.startsWith(ACME_PREFIX)
        && ACME_TOKEN.matcher(path.substring(ACME_PREFIX.length())).matches();
  }

  private static final java.util.regex.Pattern ACME_TOKEN = java.util.regex.Pattern.compile("[A-Za-z0-9_-]{1,256}");

  private final String publicOrigin;

  SecureHeaders secureHeaders() {
    return secureHeaders;
  }

  private void finish(Exchange ex) {
    metrics.request(ex.outcome);
    long micros = (System.nanoTime() - ex.started) / 1000;
    audit.access(ex.req.method().name(), ex.path == null ? null : ex.path.path(), ex.req.response().getStatusCode(),
        micros, ex.outcome, ex.user, ids.hashAddress(ex.client));
  }

  private long now() {
    return clock.millis() / 1000;
  }
}
