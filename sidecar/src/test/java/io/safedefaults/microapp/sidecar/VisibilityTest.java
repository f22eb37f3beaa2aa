package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.support.EchoUpstream;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** organization admits every signed-in person; public admits anonymous users but keeps the rest. */
class VisibilityTest {

  @Test
  void organizationLetsAnySignedInPersonInButNobodyAnonymous() throws Exception {
    try (TestProvider provider = new TestProvider(); EchoUpstream app = new EchoUpstream();
        SidecarHarness sidecar = new SidecarHarness(provider, app, c -> c.put("visibility", "organization"))) {
      String outsider = provider.bearer("contractor", Map.of("groups", List.of("finance")));
      assertThat(sidecar.api("/menu", outsider).statusCode()).isEqualTo(200);
      assertThat(sidecar.api("/menu", null).statusCode()).isEqualTo(401);
      assertThat(sidecar.api("/admin", outsider).statusCode()).isEqualTo(403); // MFA still applies
    }
  }

  @Test
  void publicLetsAnonymousUsersInWithHeadersAndLimitsButAdminPathsStayClosed() throws Exception {
    try (EchoUpstream app = new EchoUpstream();
        SidecarHarness sidecar = new SidecarHarness((TestProvider) null, app, c -> c.put("visibility", "public"))) {
      HttpResponse<String> page = sidecar.api("/", null, "X-Forwarded-User", "admin");
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.headers().firstValue("Strict-Transport-Security")).isPresent();
      assertThat(page.headers().firstValue("RateLimit-Limit")).hasValue("100000");
      assertThat(new JsonObject(page.body()).getJsonObject("headers").containsKey("x-forwarded-user")).isFalse();
      // no issuer configured: nobody can prove they are an administrator
      assertThat(sidecar.api("/admin/users", null).statusCode()).isEqualTo(403);
      assertThat(sidecar.api("/export", null, "Accept", "text/html").statusCode()).isEqualTo(403);
    }
  }
}
