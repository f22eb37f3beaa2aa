package io.safedefaults.microapp.sidecar.server;

import com.nimbusds.jwt.JWTClaimsSet;
import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.audit.UserIdHasher;
import io.safedefaults.microapp.sidecar.config.SidecarConfig;
import io.safedefaults.microapp.sidecar.http.Identity;
import io.safedefaults.microapp.sidecar.oidc.AccessPolicy;
import io.safedefaults.microapp.sidecar.oidc.LoginFlow;
import io.safedefaults.microapp.sidecar.oidc.TokenRejected;
import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.safedefaults.microapp.sidecar.session.LoginState;
import io.safedefaults.microapp.sidecar.session.SessionData;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.HostAndPort;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * Signing in and out with the provider (checklists 1-3): the redirect to the provider (PKCE, state,
 * nonce, step-up), its callback, which opens a session cookie for an allowed account, and
 * /oauth2/logout, which clears the cookie and revokes the session on the server side.
 */
final class SignInRoutes {
  static final String LOGOUT_PATH = "/oauth2/logout";
  private static final Pattern HOST = Pattern.compile("^(\\[[0-9a-fA-F:.]+]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$");

  private final Vertx vertx;
  private final SidecarConfig config;
  private final Clock clock;
  private final CookieJar cookies;
  private final LoginFlow login; // null when no issuer
  private final Authenticator authenticator;
  private final AccessPolicy access;
  private final CrossSiteGuard crossSite;
  private final UserIdHasher ids;
  private final AuditLog audit;
  private final SidecarMetrics metrics;
  private final SecureRandom random = new SecureRandom();

  SignInRoutes(Vertx vertx, SidecarConfig config, Clock clock, CookieJar cookies, LoginFlow login,
      Authenticator authenticator, AccessPolicy access, CrossSiteGuard crossSite, Observability seen) {
    this.vertx = vertx;
    this.config = config;
    this.clock = clock;
    this.cookies = cookies;
    this.login = login;
    this.authenticator = authenticator;
    this.access = access;
    this.crossSite = crossSite;
    this.ids = seen.ids();
    this.audit = seen.audit();
    this.metrics = seen.metrics();
  }

  /** Whether anyone can be signed in: an app without an issuer (public only) cannot. */
  boolean available() {
    return login != null;
  }

  /** Sends a browser to the provider; {@code stepUp} asks for a fresh sign-in with a second factor. */
  Future<Boolean> startLogin(RequestScope rq, boolean stepUp) {
    HttpServerRequest req = rq.req;
    String redirectUri = redirectUri(req);
    if (redirectUri == null) {
      rq.outcome = "bad_request";
      Replies.json(req, 400, "bad_request", "The Host header is missing or malformed.");
      return Step.DONE;
    }
    LoginFlow.Start start = login.start(rq.path.forwardTarget(), stepUp, redirectUri, now());
    rq.outcome = stepUp ? "step_up" : "login_redirect";
    req.response().headers().add("Set-Cookie", cookies.loginCookie(start.state()));
    Replies.redirect(req, start.authorizeUrl().toString());
    return Step.DONE;
  }

  /** The provider's redirect back after sign-in, on {@code oidc.redirectPath}. */
  Future<Boolean> callback(RequestScope rq) {
    if (!rq.path().equals(config.oidc().redirectPath())) {
      return Step.NEXT;
    }
    HttpServerRequest req = rq.req;
    rq.browser = true;
    if (login == null || req.method() != HttpMethod.GET) {
      rq.outcome = "bad_request";
      Replies.json(req, 400, "bad_request", "Sign-in callbacks are GET requests from the identity provider.");
      return Step.DONE;
    }
    HttpServerResponse rsp = req.response();
    rsp.headers().add("Set-Cookie", CookieJar.clearLogin()); // one use only
    String rawState = CookieJar.find(req.headers().getAll("Cookie"), CookieJar.LOGIN);
    LoginState state = rawState == null ? null : cookies.readLogin(rawState);
    String stateParam = req.getParam("state");
    if (state == null || stateParam == null || !MessageDigest.isEqual(
        state.state().getBytes(StandardCharsets.US_ASCII), stateParam.getBytes(StandardCharsets.US_ASCII))) {
      return callbackFailed(rq, "state_mismatch", 400, "The sign-in could not be matched to this browser. Open the app and sign in again.");
    }
    if (req.getParam("error") != null) {
      return callbackFailed(rq, "provider_error", 403, "The identity provider did not sign you in.");
    }
    String code = req.getParam("code");
    String redirectUri = redirectUri(req);
    if (code == null || redirectUri == null) {
      return callbackFailed(rq, "missing_code", 400, "The sign-in response was incomplete. Open the app and sign in again.");
    }
    Future.fromCompletionStage(login.exchange(code, state, redirectUri), vertx.getOrCreateContext())
        .compose(idToken -> authenticator.verifyIdToken(idToken, state.nonce()))
        .onComplete(ar -> {
          if (ar.failed()) {
            String reason = ar.cause() instanceof TokenRejected t ? "id_token_" + t.reason() : "token_exchange_failed";
            callbackFailed(rq, reason, 403, "The sign-in could not be completed. Open the app and sign in again.");
            return;
          }
          completeSignIn(rq, state, ar.result());
        });
    return Step.DONE;
  }

  private void completeSignIn(RequestScope rq, LoginState state, JWTClaimsSet idClaims) {
    HttpServerRequest req = rq.req;
    long now = now();
    long exp = now + cookies.sessionTtlSeconds();
    Identity who;
    try {
      who = authenticator.identity(idClaims, exp);
    } catch (TokenRejected e) {
      callbackFailed(rq, e.reason(), 403, "The identity provider returned an account the app cannot use.");
      return;
    }
    if (!Authenticator.safeSubject(who.subject())) {
      callbackFailed(rq, "invalid_subject", 403, "The identity provider returned an unusable account id.");
      return;
    }
    rq.user = ids.hash(who.subject());
    String denied = access.deny(who);
    if (denied != null) {
      metrics.authFailure(denied);
      rq.outcome = "forbidden";
      audit.denied(denied, rq.user, "GET", config.oidc().redirectPath());
      Replies.html(req, 403, "Access denied", "Your account is not allowed to use this app. Ask the app's owner to add your group.");
      return;
    }
    SessionData session = new SessionData(1, newSessionId(), who.subject(), who.username(), who.email(),
        who.emailVerified(), access.groupsToKeep(who.groups()), who.mfa(), now, exp);
    req.response().headers().add("Set-Cookie", cookies.sessionCookie(session));
    audit.signIn(rq.user, who.mfa(), state.stepUp());
    if (state.stepUp() && !who.mfa() && config.adminPaths().required()) {
      metrics.authFailure("mfa_not_proved");
      rq.outcome = "mfa_required";
      Replies.html(req, 403, "Second factor required",
          "This page needs a sign-in with a second factor, and the identity provider did not report one.");
      return;
    }
    rq.outcome = "signed_in";
    Replies.continueTo(req, safeReturnTo(state.returnTo()));
  }

  private Future<Boolean> callbackFailed(RequestScope rq, String reason, int status, String message) {
    metrics.authFailure(reason);
    rq.outcome = "callback_failed";
    audit.denied(reason, rq.user, rq.method(), rq.path());
    Replies.html(rq.req, status, "Sign-in failed", message);
    return Step.DONE;
  }

  /**
   * Signing out changes state, so it is a same-origin POST like any other change; a GET (a link,
   * an image another site embeds) only shows a page whose button makes that POST.
   */
  Future<Boolean> logout(RequestScope rq) {
    if (!rq.path().equals(LOGOUT_PATH)) {
      return Step.NEXT;
    }
    HttpServerRequest req = rq.req;
    if (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD) {
      rq.outcome = "logout_page";
      Replies.logoutPage(req, LOGOUT_PATH);
      return Step.DONE;
    }
    if (req.method() != HttpMethod.POST) {
      rq.outcome = "bad_request";
      Replies.json(req, 405, "method_not_allowed", "Sign out with a POST request.");
      return Step.DONE;
    }
    if (!crossSite.admits(rq)) {
      return Step.DONE;
    }
    String raw = CookieJar.find(req.headers().getAll("Cookie"), CookieJar.SESSION);
    SessionData s = raw == null ? null : cookies.readSession(raw);
    if (s != null) {
      audit.signOut(ids.hash(s.subject()));
      // the browser forgets the cookie; the sidecar forgets the session, so a copy is worthless too
      authenticator.revoke(s).onComplete(ar -> signedOut(rq));
      return Step.DONE;
    }
    signedOut(rq);
    return Step.DONE;
  }

  private void signedOut(RequestScope rq) {
    HttpServerRequest req = rq.req;
    req.response().headers().add("Set-Cookie", CookieJar.clearSession());
    rq.outcome = "signed_out";
    java.net.URI end = login == null ? null : login.logoutUrl(config.publicUrl() == null ? null : config.publicUrl() + "/");
    if (rq.browser && end != null) {
      Replies.redirect(req, end.toString());
    } else if (rq.browser) {
      Replies.html(req, 200, "Signed out", "You are signed out of this app.");
    } else {
      req.resume();
      req.response().setStatusCode(204).end();
    }
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

  private String newSessionId() {
    byte[] b = new byte[16];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private long now() {
    return clock.millis() / 1000;
  }
}
