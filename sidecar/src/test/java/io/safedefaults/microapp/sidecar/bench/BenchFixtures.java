package io.safedefaults.microapp.sidecar.bench;

import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The fixed parts of the benchmark (bench/run-benchmark.sh), not a test: a real OIDC provider, a
 * minimal upstream that answers "ok", a bearer token valid for an hour and a sidecar configuration
 * pointing at both. Writes issuer, token and config into the directory given as argument, then
 * runs until killed.
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
    String token = provider.token(TestProvider.ISSUER_ID, "bench-user", TestProvider.CLIENT_ID,
        Map.of("groups", List.of("food-team"), "email", "bench@acme.com", "email_verified", true), 3600).serialize();
    Files.writeString(out.resolve("keyset.json"), SidecarHarness.newKeyset());
    var config = SidecarHarness.baseConfig(provider.issuer(), upstreamPort, sidecarPort, adminPort, out.resolve("keyset.json"));
    // limits are checked on every request but set high enough never to refuse: we measure their cost, not 429s
    ((com.fasterxml.jackson.databind.node.ObjectNode) config.get("rateLimit")).put("perUserPerMinute", 100_000_000)
        .put("perIpPerMinute", 100_000_000).put("perIpBurstPerSecond", 10_000_000);
    Files.writeString(out.resolve("config.json"), config.toString());
    Files.writeString(out.resolve("token"), token);
    Files.writeString(out.resolve("issuer"), provider.issuer());
    Files.writeString(out.resolve("ready"), "ok");
    Thread.currentThread().join();
  }
}
