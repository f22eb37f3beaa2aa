package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Per-user, per-IP and per-path budgets with their headers (checklist 4). The test client stands
 * behind a trusted proxy (127.0.0.1) so each test can be a different client address.
 */
class RateLimitTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack(c -> {
    ObjectNode rl = (ObjectNode) c.get("rateLimit");
    rl.put("perUserPerMinute", 3).put("perIpPerMinute", 20).put("perIpBurstPerSecond", 5);
    rl.putArray("perPathQuotas").addObject().put("path", "/reports/**").put("perUserPerMinute", 1);
    c.putArray("trustedProxyCidrs").add("127.0.0.1/32");
  });

  private static String user(String sub) {
    return stack.provider().bearer(sub, Map.of("groups", List.of("food-team")));
  }

  @Test
  void aUserGetsThreeRequestsAMinuteThen429WithRetryAfter() throws Exception {
    String alice = user("rl-alice");
    for (int i = 1; i <= 3; i++) {
      HttpResponse<String> ok = stack.sidecar().api("/menu", alice, "X-Forwarded-For", "203.0.113.1");
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(ok.headers().firstValue("RateLimit-Limit")).hasValue("3");
      assertThat(ok.headers().firstValue("RateLimit-Remaining")).hasValue(Integer.toString(3 - i));
      assertThat(Long.parseLong(ok.headers().firstValue("RateLimit-Reset").orElseThrow())).isBetween(1L, 60L);
    }
    HttpResponse<String> limited = stack.sidecar().api("/menu", alice, "X-Forwarded-For", "203.0.113.1");
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("RateLimit-Limit")).hasValue("3");
    assertThat(limited.headers().firstValue("RateLimit-Remaining")).hasValue("0");
    long retryAfter = Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow());
    assertThat(retryAfter).isBetween(1L, 20L); // one request refills every 20 s
    assertThat(new JsonObject(limited.body()).getString("error")).isEqualTo("rate_limited");
    assertThat(limited.headers().firstValue("Strict-Transport-Security")).isPresent();

    // another user from the same address has a budget of their own
    assertThat(stack.sidecar().api("/menu", user("rl-bob"), "X-Forwarded-For", "203.0.113.1").statusCode()).isEqualTo(200);
  }

  @Test
  void anAddressGetsABurstOfFivePerSecondEvenBeforeSigningIn() throws Exception {
    int limitedAt = -1;
    HttpResponse<String> limited = null;
    for (int i = 1; i <= 8 && limitedAt < 0; i++) {
      HttpResponse<String> rsp = stack.sidecar().api("/menu", null, "X-Forwarded-For", "198.51.100.2");
      if (rsp.statusCode() == 429) {
        limitedAt = i;
        limited = rsp;
      } else {
        assertThat(rsp.statusCode()).isEqualTo(401);
      }
    }
    assertThat(limitedAt).isEqualTo(6);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(limited.headers().firstValue("RateLimit-Limit")).hasValue("20");
    // the spoofing client cannot escape by claiming another address: only 127.0.0.1 is trusted,
    // so the right-most untrusted hop counts, not the left-most claim
    HttpResponse<String> spoof = stack.sidecar().api("/menu", null, "X-Forwarded-For", "1.2.3.4, 198.51.100.2");
    assertThat(spoof.statusCode()).isEqualTo(429);
  }

  @Test
  void expensivePathsHaveTheirOwnTighterQuota() throws Exception {
    String carol = user("rl-carol");
    HttpResponse<String> first = stack.sidecar().api("/reports/q1", carol, "X-Forwarded-For", "203.0.113.3");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("RateLimit-Limit")).hasValue("1");
    assertThat(first.headers().firstValue("RateLimit-Remaining")).hasValue("0");
    HttpResponse<String> second = stack.sidecar().api("/Reports//q2", carol, "X-Forwarded-For", "203.0.113.3");
    assertThat(second.statusCode()).isEqualTo(429);
    assertThat(Long.parseLong(second.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 60L);
    assertThat(stack.sidecar().api("/menu", carol, "X-Forwarded-For", "203.0.113.3").statusCode()).isEqualTo(200);
  }
}
