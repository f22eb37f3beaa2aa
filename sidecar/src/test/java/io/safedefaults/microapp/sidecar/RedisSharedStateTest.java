package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.safedefaults.microapp.sidecar.support.Browser;
import io.safedefaults.microapp.sidecar.support.EchoUpstream;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import java.io.File;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two replicas of one app share their per-user budget and their sign-outs through a real
 * redis-server, and fall back to local state (never to no limits, never to errors) when Redis goes
 * away.
 */
class RedisSharedStateTest {
  static Process redis;
  static int redisPort;
  static TestProvider provider;
  static EchoUpstream app;
  static SidecarHarness replicaA;
  static SidecarHarness replicaB;

  @BeforeAll
  static void start() throws Exception {
    String server = findRedisServer();
    redisPort = SidecarHarness.freePort();
    Path dir = Files.createTempDirectory("redis-test");
    redis = new ProcessBuilder(server, "--port", Integer.toString(redisPort), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", dir.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      try (Socket s = new Socket("127.0.0.1", redisPort)) {
        break;
      } catch (Exception e) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("redis-server did not start on port " + redisPort);
        }
        Thread.sleep(50);
      }
    }
    provider = new TestProvider();
    app = new EchoUpstream();
    Consumer<ObjectNode> shared = c -> {
      ((ObjectNode) c.get("rateLimit")).put("perUserPerMinute", 3);
      c.putObject("redis").put("url", "redis://127.0.0.1:" + redisPort).put("keyPrefix", "where2eat-test");
    };
    // replicas of one app mount the same session-keys Secret, hence the same user-id salt
    String keyset = SidecarHarness.newKeyset();
    replicaA = new SidecarHarness(provider.issuer(), app, shared, keyset);
    replicaB = new SidecarHarness(provider.issuer(), app, shared, keyset);
  }

  static String findRedisServer() {
    for (String candidate : List.of("/usr/bin/redis-server", "/usr/local/bin/redis-server")) {
      if (new File(candidate).canExecute()) {
        return candidate;
      }
    }
    throw new IllegalStateException("redis-server not found; install it with: apt-get install redis-server");
  }

  @AfterAll
  static void stop() throws Exception {
    if (replicaA != null) {
      replicaA.close();
      replicaB.close();
      app.close();
      provider.close();
    }
    if (redis != null) {
      redis.destroy();
      redis.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void replicasShareOneBudgetPerUser() throws Exception {
    String token = provider.bearer("redis-alice", Map.of("groups", List.of("food-team")));
    HttpResponse<String> r1 = replicaA.api("/menu", token);
    HttpResponse<String> r2 = replicaB.api("/menu", token);
    HttpResponse<String> r3 = replicaA.api("/menu", token);
    assertThat(List.of(r1.statusCode(), r2.statusCode(), r3.statusCode())).containsExactly(200, 200, 200);
    assertThat(List.of(r1, r2, r3)).extracting(r -> r.headers().firstValue("RateLimit-Remaining").orElseThrow())
        .containsExactly("2", "1", "0");
    HttpResponse<String> r4 = replicaB.api("/menu", token);
    assertThat(r4.statusCode()).isEqualTo(429);
    assertThat(r4.headers().firstValue("Retry-After")).isPresent();
  }

  private static String signIn(SidecarHarness replica, String subject) throws Exception {
    Browser browser = new Browser();
    provider.nextLogin(subject, Map.of("email", subject + "@acme.com", "email_verified", true,
        "groups", List.of("food-team")));
    assertThat(browser.get(replica.url("/")).statusCode()).isEqualTo(200);
    return "__Host-microapp-session=" + browser.cookie(replica.uri("/"), "__Host-microapp-session");
  }

  @Test
  void signingOutOnOneReplicaEndsTheSessionOnTheOther() throws Exception {
    String cookie = signIn(replicaA, "redis-carol");
    assertThat(replicaB.api("/menu", null, "Cookie", cookie).statusCode()).isEqualTo(200);

    assertThat(replicaA.request("POST", "/oauth2/logout", null, "Cookie", cookie, "Sec-Fetch-Site", "same-origin").statusCode()).isEqualTo(204);

    assertThat(replicaB.api("/menu", null, "Cookie", cookie).statusCode()).isEqualTo(401);
    assertThat(replicaA.api("/menu", null, "Cookie", cookie).statusCode()).isEqualTo(401);
    // another user's session on the same replicas is untouched
    String other = signIn(replicaB, "redis-dan");
    assertThat(replicaA.api("/menu", null, "Cookie", other).statusCode()).isEqualTo(200);
  }

  @Test
  void withoutRedisEachReplicaStillLimitsLocally() throws Exception {
    // its own Redis, so stopping it does not disturb the other test
    int port = SidecarHarness.freePort();
    Path dir = Files.createTempDirectory("redis-test");
    Process own = new ProcessBuilder(findRedisServer(), "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", dir.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("redis.log").toFile()).start();
    try {
      Thread.sleep(300);
      try (SidecarHarness replica = new SidecarHarness(provider, app, c -> {
        ((ObjectNode) c.get("rateLimit")).put("perUserPerMinute", 2);
        c.putObject("redis").put("url", "redis://127.0.0.1:" + port);
      })) {
        own.destroy();
        own.waitFor(10, TimeUnit.SECONDS);
        String token = provider.bearer("redis-bob", Map.of("groups", List.of("food-team")));
        assertThat(replica.api("/menu", token).statusCode()).isEqualTo(200);
        assertThat(replica.api("/menu", token).statusCode()).isEqualTo(200);
        assertThat(replica.api("/menu", token).statusCode()).isEqualTo(429);
        assertThat(replica.admin("/metrics").body()).contains("sidecar_redis_fallbacks_total{use=\"rate_limit\"");

        // a sign-out while Redis is away still ends the session on the replica that served it
        String cookie = signIn(replica, "redis-erin");
        assertThat(replica.request("POST", "/oauth2/logout", null, "Cookie", cookie, "Sec-Fetch-Site", "same-origin").statusCode()).isEqualTo(204);
        assertThat(replica.api("/menu", null, "Cookie", cookie).statusCode()).isEqualTo(401);
        assertThat(replica.admin("/metrics").body())
            .contains("sidecar_redis_fallbacks_total{use=\"session_revocation\"");
      }
    } finally {
      own.destroy();
    }
  }
}
