package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.support.SidecarStack;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Checklist 8 through the sidecar: a person's own-data export and delete are signed in, MFA-gated,
 * limited per hour and forwarded to the app's endpoints; the purge endpoint answers only the
 * purge job's token.
 */
class UserDataAndPurgeTest {
  static final String PURGE_TOKEN = "purge-token-0123456789abcdefghijklmnopqrstuv";
  static final Path TOKEN_FILE = tokenFile();
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack(c -> {
    c.putObject("userData").put("exportPath", "/api/me/export").put("deletePath", "/api/me").put("perUserPerHour", 2);
    c.putObject("purge").put("path", "/internal/purge").put("tokenFile", TOKEN_FILE.toString());
  });

  private static Path tokenFile() {
    try {
      Path p = Files.createTempFile("purge", "token");
      Files.writeString(p, PURGE_TOKEN + "\n");
      return p;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String user(String sub, boolean mfa) {
    return stack.provider().bearer(sub, Map.of("groups", List.of("food-team"), "amr", mfa ? List.of("pwd", "otp") : List.of("pwd")));
  }

  @Test
  void anExportNeedsMfaReachesTheAppsEndpointAndIsLimitedPerHour() throws Exception {
    assertThat(stack.sidecar().api("/.well-known/microapp/export", user("exp-a", false)).statusCode()).isEqualTo(403);
    // the app's own path is guarded the same way: no way around the well-known door
    assertThat(stack.sidecar().api("/api/me/export", user("exp-a", false)).statusCode()).isEqualTo(403);

    String mfa = user("exp-b", true);
    HttpResponse<String> first = stack.sidecar().api("/.well-known/microapp/export?format=json", mfa);
    assertThat(first.statusCode()).isEqualTo(200);
    JsonObject seen = new JsonObject(first.body());
    assertThat(seen.getString("uri")).isEqualTo("/api/me/export?format=json");
    assertThat(seen.getJsonObject("headers").getJsonArray("x-forwarded-user").getString(0)).isEqualTo("exp-b");
    assertThat(first.headers().firstValue("RateLimit-Limit")).hasValue("2");

    assertThat(stack.sidecar().api("/api/me/export", mfa).statusCode()).isEqualTo(200);
    HttpResponse<String> third = stack.sidecar().api("/.well-known/microapp/export", mfa);
    assertThat(third.statusCode()).isEqualTo(429);
    assertThat(Long.parseLong(third.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 1800L);
  }

  @Test
  void aDeleteIsForwardedWithItsMethodAndReadsAreRefused() throws Exception {
    String mfa = user("del-a", true);
    assertThat(stack.sidecar().request("GET", "/.well-known/microapp/delete", mfa).statusCode()).isEqualTo(405);
    HttpResponse<String> del = stack.sidecar().request("DELETE", "/.well-known/microapp/delete", mfa);
    assertThat(del.statusCode()).isEqualTo(200);
    JsonObject seen = new JsonObject(del.body());
    assertThat(seen.getString("method")).isEqualTo("DELETE");
    assertThat(seen.getString("uri")).isEqualTo("/api/me");
    assertThat(stack.sidecar().request("DELETE", "/api/me", user("del-b", false)).statusCode()).isEqualTo(403);
  }

  /**
   * The chart's default alerts (helm/.../templates/prometheusrule.yaml) read these counters: every
   * sidecar_* name they use is served once its event happened, exports and deletes let through are
   * counted by kind, and nothing names a user or a path.
   */
  @Test
  void exportsDeletesRefusalsAndRateLimitsAreCountedUnderTheNamesTheAlertsUse() throws Exception {
    String mfa = user("alerts-a", true);
    assertThat(stack.sidecar().request("DELETE", "/.well-known/microapp/delete", mfa).statusCode()).isEqualTo(200);
    for (int i = 0; i < 3; i++) { // the third is over the hourly limit of 2
      stack.sidecar().api("/.well-known/microapp/export", mfa);
    }
    assertThat(stack.sidecar().api("/api/anything", "not-a-token").statusCode()).isEqualTo(401);
    String scrape = stack.sidecar().admin("/metrics").body();
    assertThat(scrape).containsPattern("(?m)^sidecar_admin_actions_total\\{kind=\"delete\"} [1-9]")
        .containsPattern("(?m)^sidecar_admin_actions_total\\{kind=\"export\"} [2-9]")
        .doesNotContain("alerts-a", "/api/me");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b(sidecar_[a-z_]+)").matcher(Files.readString(
        Path.of(System.getProperty("repo.dir", ".."), "helm/microapp-operator/templates/prometheusrule.yaml")));
    java.util.Set<String> used = new java.util.TreeSet<>();
    while (m.find()) {
      used.add(m.group(1));
    }
    assertThat(used).contains("sidecar_admin_actions_total", "sidecar_rate_limited_total", "sidecar_auth_failures_total");
    for (String name : used) {
      assertThat(scrape).as(name).containsPattern("(?m)^" + name + "\\{");
    }
  }

  @Test
  void thePurgeEndpointAnswersOnlyThePurgeJobsToken() throws Exception {
    assertThat(stack.sidecar().request("POST", "/internal/purge", null).statusCode()).isEqualTo(403);
    // not even a signed-in administrator with MFA
    assertThat(stack.sidecar().request("POST", "/internal/purge", user("admin", true)).statusCode()).isEqualTo(403);
    assertThat(stack.sidecar().request("POST", "/Internal//purge/", "wrong-" + PURGE_TOKEN).statusCode()).isEqualTo(403);

    HttpResponse<String> ok = stack.sidecar().request("POST", "/internal/purge?olderThanDays=30", PURGE_TOKEN);
    assertThat(ok.statusCode()).isEqualTo(200);
    JsonObject seen = new JsonObject(ok.body());
    assertThat(seen.getString("uri")).isEqualTo("/internal/purge?olderThanDays=30");
    assertThat(seen.getJsonObject("headers").containsKey("authorization")).isFalse();
    assertThat(seen.getJsonObject("headers").containsKey("x-forwarded-user")).isFalse();
  }
}
