package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.audit.UserIdHasher;
import io.safedefaults.microapp.sidecar.config.ConfigException;
import io.safedefaults.microapp.sidecar.config.SidecarConfig;
import io.safedefaults.microapp.sidecar.http.Cidr;
import io.safedefaults.microapp.sidecar.http.ForwardedHeaders;
import io.safedefaults.microapp.sidecar.http.SecureHeaders;
import io.safedefaults.microapp.sidecar.oidc.AccessPolicy;
import io.safedefaults.microapp.sidecar.oidc.ClaimsMapper;
import io.safedefaults.microapp.sidecar.oidc.LoginFlow;
import io.safedefaults.microapp.sidecar.oidc.MfaRequirement;
import io.safedefaults.microapp.sidecar.oidc.OidcProvider;
import io.safedefaults.microapp.sidecar.oidc.ProviderHttp;
import io.safedefaults.microapp.sidecar.oidc.TokenValidator;
import io.safedefaults.microapp.sidecar.ratelimit.LocalRateLimiter;
import io.safedefaults.microapp.sidecar.ratelimit.RateLimiter;
import io.safedefaults.microapp.sidecar.ratelimit.RedisRateLimiter;
import io.safedefaults.microapp.sidecar.redis.SharedRedis;
import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.safedefaults.microapp.sidecar.session.LocalSessionRevocations;
import io.safedefaults.microapp.sidecar.session.RedisSessionRevocations;
import io.safedefaults.microapp.sidecar.session.SessionRevocations;
import io.safedefaults.microapp.sidecar.session.CookieSealer;
import io.safedefaults.microapp.sidecar.session.SessionKeyFiles;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the sidecar together from a validated configuration and starts it. Everything that can be
 * wrong with the environment (keyset, issuer, secrets, ports) fails here, before the first request,
 * as a {@link ConfigException} with one line.
 */
public final class Sidecar implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);

  private final Vertx vertx;
  private final SharedRedis redis; // null without a shared store
  private final AdminServer admin;
  private final long evictionTimer;

  private Sidecar(Vertx vertx, SharedRedis redis, AdminServer admin, long evictionTimer) {
    this.vertx = vertx;
    this.redis = redis;
    this.admin = admin;
    this.evictionTimer = evictionTimer;
  }

  public static Sidecar start(SidecarConfig config) {
    return start(config, Clock.systemUTC());
  }

  public static Sidecar start(SidecarConfig config, Clock clock) {
    Path keyset = Path.of(config.session().keysetFile());
    SessionKeyFiles keyFiles = SessionKeyFiles.of(config.session(), clock);
    CookieSealer sealer = CookieSealer.fromKeysetFile(keyset, keyFiles);
    CookieJar cookies = new CookieJar(sealer, config.session().ttlSeconds(), clock);
    UserIdHasher ids = keyFiles.wrapped()
        ? UserIdHasher.fromMaterial(keyFiles.openAtStart(Path.of(config.userIdSaltFile()),
            io.safedefaults.microapp.kms.WrappedSessionKeys.Part.USER_ID_SALT, "userIdSaltFile"))
        : UserIdHasher.fromFiles(config.userIdSaltFile(), keyset);
    SidecarConfig.AdminPaths ap = config.adminPaths();
    UserDataRoutes userData = config.userData() == null ? null : new UserDataRoutes(config.userData());
    java.util.List<String> mfaPaths = new java.util.ArrayList<>(ap.paths());
    if (userData != null) {
      mfaPaths.addAll(userData.guardedPaths()); // exports and deletes are admin actions on one's own data
    }
    MfaRequirement mfa = new MfaRequirement(mfaPaths, ap.required(), ap.amr(), ap.acr());
    String purgeToken = config.purge() == null ? null : secret(config.purge().tokenFile(), "purge.tokenFile");
    ClaimsMapper claims = new ClaimsMapper(config.oidc().groupsClaim(), mfa);
    AccessPolicy access = new AccessPolicy(config.visibility(), config.allowedGroups(), config.allowedEmailDomains());
    if (config.visibility() == SidecarConfig.Visibility.PRIVATE && config.allowedGroups().isEmpty()
        && config.allowedEmailDomains().isEmpty()) {
      LOG.warn("visibility is private but allowedGroups and allowedEmailDomains are empty: nobody can use the app");
    }

    TokenValidator tokens = null;
    LoginFlow login = null;
    if (config.oidc().issuer() != null) {
      ProviderHttp http = ProviderHttp.create(config.oidc().caFile());
      OidcProvider provider = OidcProvider.discover(config.oidc().issuer(), http.client(), config.oidc().caFile());
      tokens = new TokenValidator(provider, config.oidc().clientId(), http.jwksRetriever());
      login = new LoginFlow(provider, config.oidc().clientId(), secret(config.oidc().clientSecretFile(), "oidc.clientSecretFile"),
          config.oidc().scopes(), mfa, http.client());
    }

    // few threads: a sidecar gets a fraction of a core, and every thread costs memory (RSS budget 128 MB)
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(false)
        .setEventLoopPoolSize(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())))
        .setWorkerPoolSize(4).setInternalBlockingPoolSize(4));
    SidecarMetrics metrics = new SidecarMetrics();
    LocalRateLimiter local = new LocalRateLimiter();
    RateLimiter limiter = local;
    LocalSessionRevocations localRevocations = new LocalSessionRevocations(clock);
    SessionRevocations revocations = localRevocations;
    SharedRedis redis = null;
    if (config.redis() != null) {
      try {
        redis = new SharedRedis(config.redis().url(), secret(config.redis().passwordFile(), "redis.passwordFile"));
      } catch (RuntimeException e) {
        vertx.close();
        throw new ConfigException("cannot connect to Redis at field 'redis.url' " + config.redis().url() + ": "
            + e.getClass().getSimpleName());
      }
      AtomicLong lastWarning = new AtomicLong();
      java.util.function.BiConsumer<String, Throwable> fallback = (use, e) -> {
        metrics.redisFallback(use);
        long now = System.currentTimeMillis();
        if (now - lastWarning.get() > 60_000) {
          lastWarning.set(now);
          LOG.warn("Redis unavailable, using this replica's local rate limits and sign-outs: {}",
              e.getClass().getSimpleName());
        }
      };
      limiter = new RedisRateLimiter(redis.connection(), config.redis().keyPrefix(), local,
          e -> fallback.accept("rate_limit", e));
      revocations = new RedisSessionRevocations(redis.connection(), config.redis().keyPrefix(), localRevocations, clock,
          e -> fallback.accept("session_revocation", e));
    }
    ForwardedHeaders forwarded = new ForwardedHeaders(config.trustedProxyCidrs().stream().map(Cidr::parse).toList(),
        config.publicUrl() != null && config.publicUrl().startsWith("http://") ? "http" : "https");
    // the jobs a request goes through (Gatekeeper orders them), built once and shared by every event loop
    Observability seen = new Observability(ids, new AuditLog(), metrics);
    Forwarding forwarding = new Forwarding(forwarded);
    CrossSiteGuard crossSite = new CrossSiteGuard(config.publicUrl(), seen);
    Authenticator authenticator = new Authenticator(vertx, clock, cookies, revocations, tokens, claims, seen);
    SignInRoutes signIn = new SignInRoutes(vertx, config, clock, cookies, login, authenticator, access, crossSite, seen);
    PurgeGate purge = new PurgeGate(config.purge() == null ? null : config.purge().path(), purgeToken, seen,
        forwarding);
    Authorisation authorisation = new Authorisation(config, access, mfa, userData, signIn, crossSite, forwarding, seen);
    RequestLimits limits = new RequestLimits(vertx, config.rateLimit(), limiter, userData, seen);
    Gatekeeper gatekeeper = new Gatekeeper(new SecureHeaders(config.hsts(), config.csp()), signIn, purge, authenticator,
        authorisation, limits, forwarding, seen);

    URI upstream = URI.create(config.upstream());
    AtomicBoolean started = new AtomicBoolean();
    AdminServer admin = new AdminServer(vertx, config.adminPort(), metrics, started::get, upstream);
    try {
      admin.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      int instances = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
      java.util.function.Function<io.safedefaults.microapp.sidecar.http.RequestPath, String> appTarget =
          userData == null ? io.safedefaults.microapp.sidecar.http.RequestPath::forwardTarget : userData::appTarget;
      vertx.deployVerticle(() -> new ProxyVerticle(config.listenPort(), upstream, gatekeeper, metrics, appTarget),
          new DeploymentOptions().setInstances(instances)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      if (redis != null) {
        redis.close();
      }
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new ConfigException("cannot listen on ports " + config.listenPort() + "/" + config.adminPort() + ": "
          + cause.getMessage());
    }
    long timer = vertx.setPeriodic(60_000, id -> local.evictIdle());
    // the operator rotates the session keyset in its Secret; the mounted file changes in place
    vertx.setPeriodic(config.session().keysetReloadSeconds() * 1000L, id -> vertx.executeBlocking(
        () -> sealer.reloadIfChanged(keyset, keyFiles), false).onSuccess(changed -> {
          if (changed) {
            LOG.info("session keyset reloaded from {}", keyset);
          }
        }));
    started.set(true);
    LOG.info("sidecar started on port {} (admin {}), visibility {}, forwarding to {}", config.listenPort(),
        config.adminPort(), config.visibility().name().toLowerCase(java.util.Locale.ROOT), config.upstream());
    return new Sidecar(vertx, redis, admin, timer);
  }

  private static String secret(String file, String field) {
    if (file == null) {
      return null;
    }
    try {
      String s = Files.readString(Path.of(file)).strip();
      if (s.isEmpty()) {
        throw new ConfigException("file " + file + " from field '" + field + "' is empty");
      }
      return s;
    } catch (IOException e) {
      throw new ConfigException("file " + file + " from field '" + field + "' cannot be read ("
          + e.getClass().getSimpleName() + ")");
    }
  }

  @Override
  public void close() {
    vertx.cancelTimer(evictionTimer);
    try {
      admin.close();
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("sidecar did not stop cleanly: {}", e.getClass().getSimpleName());
    } finally {
      if (redis != null) {
        redis.close();
      }
    }
  }
}
