package io.safedefaults.microapp.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check --policy}: an app is judged against the MicroAppPolicies that select its namespace,
 * as the operator judges it (PolicyMerge), and an unreadable policy stops with a line naming it.
 */
class CheckPolicyTest {
  @TempDir Path dir;

  static final String POLICY = """
      apiVersion: safedefaults.io/v1alpha1
      kind: MicroAppPolicy
      metadata:
        name: food
      spec:
        namespaceSelector:
          matchLabels:
            team: food
        allowedHostSuffixes: [food.apps.example.com]
        allowedIssuers: [https://login.example.com/realms/acme]
        resources:
          max: {cpu: "2", memory: 1Gi}
      """;

  static final String APP = """
      apiVersion: safedefaults.io/v1alpha1
      kind: MicroApp
      metadata:
        name: where2eat
        namespace: team-food
      spec:
        image: ghcr.io/acme/where2eat:1.4.2
        host: %s
        auth:
          issuer: %s
          allowedGroups: [food-team]
        resources:
          cpu: "%s"
        retention:
          purge:
            http:
              path: /internal/purge
      """;

  Path write(String name, String text) throws Exception {
    return Files.writeString(dir.resolve(name), text);
  }

  CheckCommandTest.Result check(Path app, String... more) throws Exception {
    Path policy = write("policy.yaml", POLICY);
    String[] base = {"check", "-f", app.toString(), "--policy", policy.toString(), "--cluster-issuer", "le"};
    String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(more))
        .toArray(String[]::new);
    return CheckCommandTest.run(all);
  }

  @Test
  void anAppInsideItsTeamsPolicyPassesAndOneOutsideFailsNamingThePolicy() throws Exception {
    Path ok = write("ok.yaml", APP.formatted("where2eat.food.apps.example.com", "https://login.example.com/realms/acme", "1"));
    CheckCommandTest.Result r = check(ok, "--namespace-labels", "team-food:team=food");
    assertThat(r.code()).as(r.out() + r.err()).isZero();

    Path foreign = write("foreign.yaml", APP.formatted("login.example.com", "https://accounts.google.com", "1000"));
    r = check(foreign, "--namespace-labels", "team-food:team=food");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("would NOT be exposed", "HostNotAllowed", "food.apps.example.com",
        "IssuerNotAllowed", "ResourcesAboveMaximum", "policy food");

    // the same app in a namespace the policy does not select: the flags (any host, any issuer)
    r = check(foreign);
    assertThat(r.out()).doesNotContain("HostNotAllowed", "IssuerNotAllowed");
  }

  @Test
  void anUnreadablePolicyOrLabelStopsWithALineNamingIt() throws Exception {
    Path app = write("app.yaml", APP.formatted("a.food.apps.example.com", "https://login.example.com/realms/acme", "1"));
    Path bad = write("bad.yaml", POLICY.replace("allowedIssuers", "allowedIssuer"));
    CheckCommandTest.Result r = CheckCommandTest.run("check", "-f", app.toString(), "--policy", bad.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("bad.yaml", "unknown field 'allowedIssuer'", "kubectl explain microapppolicy");

    r = CheckCommandTest.run("check", "-f", app.toString(), "--policy", app.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("no MicroAppPolicy document found");

    r = CheckCommandTest.run("check", "-f", app.toString(), "--namespace-labels", "team-food");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--namespace-labels", "NAMESPACE:KEY=VALUE");
  }
}
