package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.audit.UserIdHasher;
import io.safedefaults.microapp.sidecar.config.SidecarConfig;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.Visibility;
import io.safedefaults.microapp.sidecar.oidc.AccessPolicy;
import io.safedefaults.microapp.sidecar.oidc.MfaRequirement;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;

/**
 * What a request may do once the sidecar knows who is asking (checklists 1, 2, 8): anonymous
 * requests reach a public app's ordinary paths and are sent to sign in everywhere else; signed-in
 * people need an allowed group or domain, the right method on the own-data routes and a second
 * factor on admin paths; admin actions are audited.
 */
final class Authorisation {
  private final SidecarConfig config;
  private final AccessPolicy access;
  private final MfaRequirement mfa;
  private final UserDataRoutes userData; // null when the app declares no export/delete endpoints
  private final SignInRoutes signIn;
  private final CrossSiteGuard crossSite;
  private final Forwarding forwarding;
  private final UserIdHasher ids;
  private final AuditLog audit;
  private final SidecarMetrics metrics;

  Authorisation(SidecarConfig config, AccessPolicy access, MfaRequirement mfa, UserDataRoutes userData,
      SignInRoutes signIn, CrossSiteGuard crossSite, Forwarding forwarding, Observability seen) {
    this.config = config;
    this.access = access;
    this.mfa = mfa;
    this.userData = userData;
    this.signIn = signIn;
    this.crossSite = crossSite;
    this.forwarding = forwarding;
    this.ids = seen.ids();
    this.audit = seen.audit();
    this.metrics = seen.metrics();
  }

  /**
   * Nobody signed in: a public app's ordinary paths go to the app; a browser navigation is sent to
   * the provider; anything else gets 401 (403 for an admin path of an app without an issuer).
   */
  Future<Boolean> anonymous(RequestScope rq) {
    if (rq.identity != null) {
      return Step.NEXT;
    }
    HttpServerRequest req = rq.req;
    boolean admin = mfa.isAdminPath(rq.path());
    if (config.visibility() == Visibility.PUBLIC && !admin) {
      return forwarding.toApp(rq);
    }
    if (!signIn.available()) {
      // a public app without an issuer has no way to sign anyone in to its admin paths
      rq.outcome = "forbidden";
      audit.denied("admin_path_without_issuer", rq.user, rq.method(), rq.path());
      Replies.error(req, rq.browser, 403, "forbidden", "Forbidden", "This path needs a signed-in administrator.");
      return Step.DONE;
    }
    boolean navigable = rq.browser && (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD)
        && !req.canUpgradeToWebSocket();
    if (navigable) {
      return signIn.startLogin(rq, admin && config.adminPaths().required());
    }
    metrics.authFailure(rq.authorization == null ? "no_credentials" : "unsupported_scheme");
    rq.outcome = "unauthenticated";
    req.response().putHeader("WWW-Authenticate", "Bearer");
    Replies.json(req, 401, "unauthenticated",
        "Sign in first: send a bearer token from the organisation's identity provider, or open the app in a browser.");
    return Step.DONE;
  }

  /** The session cookie is sent by the browser wherever the request came from; a bearer token is not. */
  Future<Boolean> sameOrigin(RequestScope rq) {
    return rq.authorization != null || crossSite.admits(rq) ? Step.NEXT : Step.DONE;
  }

  /** private: an allowed group or a verified address in an allowed domain; checked on every request. */
  Future<Boolean> allowedAccount(RequestScope rq) {
    rq.user = ids.hash(rq.identity.subject());
    String denied = access.deny(rq.identity);
    if (denied == null) {
      return Step.NEXT;
    }
    metrics.authFailure(denied);
    rq.outcome = "forbidden";
    audit.denied(denied, rq.user, rq.method(), rq.path());
    Replies.error(rq.req, rq.browser, 403, "forbidden", "Access denied",
        "Your account is not allowed to use this app. Ask the app's owner to add your group.");
    return Step.DONE;
  }

  /** The own-data routes: an export is fetched with GET or HEAD, a delete is a POST or DELETE. */
  Future<Boolean> ownDataMethod(RequestScope rq) {
    UserDataRoutes.Kind own = userData == null ? null : userData.kind(rq.path());
    rq.ownData = own;
    if (own == null || UserDataRoutes.allows(own, rq.req.method())) {
      return Step.NEXT;
    }
    rq.outcome = "bad_request";
    Replies.json(rq.req, 405, "method_not_allowed", own == UserDataRoutes.Kind.EXPORT
        ? "Your data export is fetched with GET." : "Deleting your data takes a POST or DELETE request.");
    return Step.DONE;
  }

  /**
   * Admin paths (and the own-data routes) need a sign-in that proved a second factor: browsers are
   * sent back to the provider for one, API clients get 403 {@code mfa_required}.
   */
  Future<Boolean> secondFactor(RequestScope rq) {
    HttpServerRequest req = rq.req;
    String path = rq.path();
    if (!mfa.needsStepUp(path, rq.identity.mfa())) {
      return Step.NEXT;
    }
    audit.stepUp(rq.user, rq.method(), path);
    metrics.authFailure("mfa_required");
    if (rq.browser && req.method() == HttpMethod.GET && signIn.available()) {
      rq.outcome = "step_up";
      return signIn.startLogin(rq, true);
    }
    rq.outcome = "mfa_required";
    String acr = mfa.acrValues().isEmpty() ? "" : ", acr_values=\"" + String.join(" ", mfa.acrValues()) + "\"";
    req.response().putHeader("WWW-Authenticate", "Bearer error=\"insufficient_user_authentication\", "
        + "error_description=\"A multi-factor sign-in is required for this path\"" + acr);
    Replies.error(req, rq.browser, 403, "mfa_required", "Second factor required",
        "This path needs a multi-factor sign-in (amr one of " + String.join(", ", new java.util.TreeSet<>(mfa.amrValues()))
            + "). Sign in again with a second factor and retry.");
    return Step.DONE;
  }

  /** Exports, deletes and admin paths leave an audit line when they are let through. */
  Future<Boolean> auditAdminAction(RequestScope rq) {
    if (rq.ownData != null) {
      audit.userData(rq.ownData == UserDataRoutes.Kind.EXPORT ? "user_data_export" : "user_data_delete", rq.user,
          rq.method());
    } else if (mfa.isAdminPath(rq.path())) {
      audit.adminAccess(rq.user, rq.method(), rq.path());
    }
    return Step.NEXT;
  }
}
