package io.safedefaults.microapp.sidecar.bench;

import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.safedefaults.microapp.sidecar.session.CookieSealer;
import io.safedefaults.microapp.sidecar.session.SessionData;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The fixed parts of the benchmark (bench/run-benchmark.sh), not a test: a real OIDC provider, a
 * minimal upstream that answers "ok", a bearer token valid for an hour, a sidecar configuration
 * pointing at both, and the two session cookies' sources for the browser path:
 *
 * <ul>
 *   <li>{@code sidecar-cookie}: a TEST-ONLY session cookie for the sidecar, sealed with the
 *       benchmark's keyset through the sidecar's own {@link CookieJar}, with the fields sign-in
 *       ({@code SignInRoutes.completeSignIn}) would set. Minted here because the sidecar's sign-in
 *       needs an https public URL for its {@code __Host-} cookies; what a request costs is the
 *       same: open the cookie, check expiry, revocation and access.
 *   <li>oauth2-proxy signs in for real: the provider's next code exchange returns the same user
 *       and groups, and the script follows the redirects with curl.
 * </ul>
 *
 * <p>Writes issuer, token, cookie and config into the directory given as argument, then runs until
 * killed.
 */
public final class BenchFixtures {
  private BenchFixtures() {}

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args[0]);
    int upstreamPort = Integer.parseInt(args[1]);
    int sidecarPort = Integer.parseInt(args[2]);
    int adminPort = Integer.parseInt(args[3]);
    TestProvider provider = new TestProvider();
    Vertx vertx = Vertx.vertx();
    vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(upstreamPort))
        .requestHandler(req -> req.response().putHeader("Content-Type", "text/plain").end("ok\n"))
        .listen().toCompletionStage().toCompletableFuture().get();
    Map<String, Object> claims = Map.of("groups", List.of("food-team"), "email", "bench@acme.com", "email_verified", true);
    String token = provider.token(TestProvider.ISSUER_ID, "bench-user", TestProvider.CLIENT_ID, claims, 3600).serialize();
    Files.writeString(out.resolve("keyset.json"), SidecarHarness.newKeyset());
    var config = SidecarHarness.baseConfig(provider.issuer(), upstreamPort, sidecarPort, adminPort, out.resolve("keyset.json"));
    // limits are checked on every request but set high enough never to refuse: we measure their cost, not 429s
    ((com.fasterxml.jackson.databind.node.ObjectNode) config.get("rateLimit")).put("perUserPerMinute", 100_000_000)
        .put("perIpPerMinute", 100_000_000).put("perIpBurstPerSecond", 10_000_000);
    Files.writeString(out.resolve("config.json"), config.toString());
    provider.nextLogin("bench-user", claims);
    Files.writeString(out.resolve("sidecar-cookie"), testOnlySessionCookie(out.resolve("keyset.json")));
    Files.writeString(out.resolve("token"), token);
    Files.writeString(out.resolve("issuer"), provider.issuer());
    Files.writeString(out.resolve("ready"), "ok");
    Thread.currentThread().join();
  }

  /** @return "name=value" as a browser would send it after signing in to the sidecar */
  private static String testOnlySessionCookie(Path keyset) {
    CookieJar jar = new CookieJar(CookieSealer.fromKeysetFile(keyset), 28_800, Clock.systemUTC());
    byte[] sid = new byte[16];
    new SecureRandom().nextBytes(sid);
    long now = System.currentTimeMillis() / 1000;
    SessionData session = new SessionData(1, Base64.getUrlEncoder().withoutPadding().encodeToString(sid), "bench-user",
        "bench-user", "bench@acme.com", true, List.of("food-team"), false, now, now + 28_800);
    String setCookie = jar.sessionCookie(session);
    return setCookie.substring(0, setCookie.indexOf(';'));
  }
}
