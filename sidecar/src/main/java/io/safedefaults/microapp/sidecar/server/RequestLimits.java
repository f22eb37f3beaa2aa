package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.audit.UserIdHasher;
import io.safedefaults.microapp.sidecar.config.SidecarConfig;
import io.safedefaults.microapp.sidecar.http.ForwardedHeaders;
import io.safedefaults.microapp.sidecar.http.PathPattern;
import io.safedefaults.microapp.sidecar.ratelimit.LimitSpec;
import io.safedefaults.microapp.sidecar.ratelimit.LocalRateLimiter;
import io.safedefaults.microapp.sidecar.ratelimit.RateLimitDecision;
import io.safedefaults.microapp.sidecar.ratelimit.RateLimiter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;

/**
 * The sidecar's budgets (checklist 4): per client address before sign-in, then per user, with the
 * own-data or per-path quota a path has. Each request takes from every budget that applies and
 * carries the tightest decision (a refusal, else the one closest to running out) into its
 * RateLimit-* headers; a refusal is 429 with Retry-After. A limiter that fails (Redis gone and
 * no fallback answer) limits nothing rather than refusing everyone.
 */
final class RequestLimits {
  private final Vertx vertx;
  private final RateLimiter limiter;
  private final LimitSpec perIp; // null when the per-IP limit is off
  private final LimitSpec perUser;
  private final List<PathPattern> quotaPaths;
  private final List<LimitSpec> quotas;
  private final UserDataRoutes userData; // null when the app declares no export/delete endpoints
  private final UserIdHasher ids;
  private final AuditLog audit;
  private final SidecarMetrics metrics;

  RequestLimits(Vertx vertx, SidecarConfig.RateLimit rl, RateLimiter limiter, UserDataRoutes userData,
      Observability seen) {
    this.vertx = vertx;
    this.limiter = limiter;
    this.perIp = rl.perIpPerMinute() == 0 ? null : LimitSpec.perMinute("ip", rl.perIpPerMinute(), rl.perIpBurstPerSecond());
    this.perUser = LimitSpec.perMinute("user", rl.perUserPerMinute(), 0);
    this.quotaPaths = rl.perPathQuotas().stream().map(q -> PathPattern.compile(q.path())).toList();
    this.quotas = rl.perPathQuotas().stream().map(q -> LimitSpec.perMinute("path:" + q.path(), q.perUserPerMinute(), 0))
        .toList();
    this.userData = userData;
    this.ids = seen.ids();
    this.audit = seen.audit();
    this.metrics = seen.metrics();
  }

  /** Before sign-in, keyed by the client address, so floods of bad tokens are limited too. */
  Future<Boolean> perIp(RequestScope rq) {
    if (perIp == null) {
      return Step.NEXT;
    }
    return Step.after(consume(perIp, ForwardedHeaders.rateLimitKey(rq.client)), ar -> {
      RateLimitDecision ip = ar.succeeded() ? ar.result() : null;
      rq.limit = ip;
      if (ip != null && !ip.allowed()) {
        return refuse(rq, ip, ids.hashAddress(rq.client));
      }
      return Step.NEXT;
    });
  }

  /** Once signed in: the user's budget, then the own-data or first matching path quota. */
  Future<Boolean> perUser(RequestScope rq) {
    String path = rq.path();
    UserDataRoutes.Kind own = rq.ownData;
    Future<RateLimitDecision> decided = consume(perUser, rq.user).compose(user -> {
      RateLimitDecision tight = RateLimitDecision.tightest(rq.limit, user);
      if (own != null && user.allowed()) {
        RateLimitDecision prior = tight;
        return consume(userData.limit(own), rq.user).map(q -> RateLimitDecision.tightest(prior, q));
      }
      for (int i = 0; i < quotaPaths.size(); i++) {
        if (quotaPaths.get(i).matches(path) && user.allowed()) {
          LimitSpec spec = quotas.get(i);
          RateLimitDecision prior = tight;
          return consume(spec, rq.user).map(q -> RateLimitDecision.tightest(prior, q));
        }
      }
      return Future.succeededFuture(tight);
    });
    return Step.after(decided, ar -> {
      if (ar.succeeded()) {
        rq.limit = ar.result();
        if (!rq.limit.allowed()) {
          return refuse(rq, rq.limit, rq.user);
        }
      }
      return Step.NEXT;
    });
  }

  private Future<Boolean> refuse(RequestScope rq, RateLimitDecision d, String keyHash) {
    rq.limit = d;
    rq.outcome = "rate_limited";
    metrics.rateLimited(d.name());
    audit.rateLimited(d.name(), keyHash, rq.method(), rq.path());
    Replies.json(rq.req, 429, "rate_limited",
        "Too many requests; retry after " + d.retryAfterSeconds() + " s.");
    return Step.DONE;
  }

  private Future<RateLimitDecision> consume(LimitSpec spec, String key) {
    if (limiter instanceof LocalRateLimiter local) {
      return Future.succeededFuture(local.consume(spec, key));
    }
    return Future.fromCompletionStage(limiter.tryConsume(spec, key), vertx.getOrCreateContext());
  }
}
