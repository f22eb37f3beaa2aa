package io.safedefaults.microapp.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.safedefaults.microapp.Checklist;
import io.safedefaults.microapp.TestApps;
import io.safedefaults.microapp.access.AppNetworkPolicy;
import io.safedefaults.microapp.access.AppServiceAccount;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppStatus;
import io.safedefaults.microapp.api.PurgeSpec;
import io.safedefaults.microapp.api.RateLimitSpec;
import io.safedefaults.microapp.api.SealedRef;
import io.safedefaults.microapp.api.SecretsSpec;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.retention.PurgeJob;
import io.safedefaults.microapp.secrets.SealedValue.Scope;
import io.safedefaults.microapp.secrets.SealedValueDecryptor;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.SealingKeys;
import io.safedefaults.microapp.secrets.UnsealedSecret;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Conditions;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.Observed;
import io.safedefaults.microapp.tls.IngressTlsDefault;
import io.safedefaults.microapp.workload.AppDeployment;
import io.safedefaults.microapp.workload.AppService;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Property: for generated variants of an app under several cluster policies, {@code check} tells
 * the author what the operator would report once the children it applies exist and the pod is up:
 * item by item the same outcome, reason and message, the same Ready verdict, the same exposure, and
 * exit 1 exactly when some app would not be Ready. The operator's side is built here the way its
 * workflow applies children (no sealed Secret and no Ingress while a value does not open), with
 * values opened by a real decryptor.
 */
class CheckAgreesWithOperatorTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int APPS_PER_POLICY = 60;
  static final String ALL_OVERRIDES = "visibility,mfa,sessionTTL,rateLimit,networkPolicy,retention";

  static final com.google.crypto.tink.KeysetHandle KEYS = SealingKeys.generate();
  static final Sealer SEALER = new Sealer(SealingKeys.publicKeys(KEYS));
  static final SealedValueDecryptor DECRYPTOR = new SealedValueDecryptor(KEYS);

  @TempDir Path dir;

  static Stream<List<String>> policies() {
    return Stream.of(
        List.of("--cluster-issuer", "letsencrypt"),
        List.of("--default-issuer", "https://login.example.com"),
        List.of("--cluster-issuer", "letsencrypt", "--default-issuer", "https://login.example.com",
            "--allowed-overrides", ALL_OVERRIDES, "--trusted-proxy-cidrs", "10.244.0.0/16"),
        List.of("--cluster-issuer", "letsencrypt", "--ingress-flavor", "traefik", "--allowed-overrides", "none",
            "--max-limits", "200,20,120", "--max-session-ttl", "10h"),
        // host domains, issuers and container bounds as a policy sets them
        List.of("--cluster-issuer", "letsencrypt", "--default-issuer", "https://login.example.com",
            "--allowed-host-suffixes", "apps.example.com", "--allowed-issuers", "https://login.example.com/realms/acme",
            "--max-app-resources", "500m,512Mi"));
  }

  /** Everything an author might vary, each dimension drawn independently; the seed keeps runs repeatable. */
  static MicroApp variant(Random rnd, int i) {
    MicroApp app = TestApps.where2eat("team-v");
    app.getMetadata().setName(rnd.nextInt(40) == 0 ? "Bad_Name_" + i : "app-" + i);
    var spec = app.getSpec();
    if (rnd.nextInt(4) == 0) {
      spec.setHost(null);
    } else {
      spec.setHost("app-" + i + (rnd.nextInt(5) == 0 ? ".other.example.org" : ".apps.example.com"));
    }
    spec.setVisibility(Visibility.values()[rnd.nextInt(3)]);
    switch (rnd.nextInt(4)) {
      case 0 -> spec.getAuth().setIssuer(null);
      case 1 -> spec.getAuth().setIssuer("https://accounts.google.com");
      default -> { }
    }
    if (rnd.nextInt(4) == 0) {
      spec.setResources(new io.safedefaults.microapp.api.AppResources());
      spec.getResources().setCpu(List.of("250m", "2", "1000").get(rnd.nextInt(3)));
      spec.getResources().setMemory(List.of("128Mi", "1Gi", "64Gi").get(rnd.nextInt(3)));
    }
    spec.getAuth().setSessionTTL(List.of("8h", "30m", "48h", "ever").get(rnd.nextInt(4)));
    if (rnd.nextBoolean()) {
      spec.getAuth().setAdminPaths(new ArrayList<>());
    }
    switch (rnd.nextInt(3)) {
      case 0 -> spec.setRateLimit(null);
      case 1 -> spec.getRateLimit().getPerIP().setRequestsPerMinute(5000); // above every maximum
      default -> spec.getRateLimit().setPerUser(new RateLimitSpec.PerUser());
    }
    switch (rnd.nextInt(5)) {
      case 0 -> spec.getRetention().setPurge(null);
      case 1 -> spec.getRetention().setTtl("400d");
      case 2 -> {
        PurgeSpec.Postgres pg = new PurgeSpec.Postgres();
        pg.setConnection("DB_URL");
        pg.setTable("events");
        pg.setColumn("created_at");
        spec.getRetention().getPurge().setHttp(null);
        spec.getRetention().getPurge().setPostgres(pg);
      }
      default -> { }
    }
    List<DefaultOverride> overrides = new ArrayList<>();
    for (Setting s : Setting.values()) {
      if (rnd.nextInt(4) == 0) {
        overrides.add(new DefaultOverride(s, "generated variant " + i + " relaxes " + s.wireName()));
      }
    }
    spec.setOverrides(overrides);
    Map<String, String> sealed = new HashMap<>();
    String name = app.getMetadata().getName();
    switch (rnd.nextInt(5)) {
      case 0 -> sealed.put("MAPS_API_KEY", seal(Scope.APP, name, "MAPS_API_KEY"));
      case 1 -> sealed.put("MAPS_API_KEY", "v1:app:bm90LWEtY2lwaGVydGV4dA=="); // well-formed base64, not Tink
      case 2 -> sealed.put("DB_URL", seal(Scope.NAMESPACE, null, "DB_URL"));
      case 3 -> spec.getAuth().setClientSecret(new SealedRef(seal(Scope.APP, name, Unsealer.CLIENT_SECRET)));
      default -> { }
    }
    if (!sealed.isEmpty()) {
      spec.setSecrets(new SecretsSpec());
      spec.getSecrets().setSealed(sealed);
    }
    return app;
  }

  static String seal(Scope scope, String app, String key) {
    return SEALER.seal("value".getBytes(StandardCharsets.UTF_8), scope, "team-v", app, key).text();
  }

  /** What the operator reports once its workflow has applied the children and the pod is available. */
  record OperatorView(MicroAppStatus status, List<CheckResult> checks) {}

  static OperatorView operator(MicroApp app, OperatorConfig config) {
    AppPlan plan = AppPlan.resolve(app, config);
    Unsealer.Unsealed unsealed = Unsealer.open(app, DECRYPTOR);
    Observed observed;
    if (plan.fatal()) {
      observed = new Observed(null, null, null, null, null, null, null, null, null, List.of(), ImageScan.of(ImageScan.State.NOT_REQUIRED, null));
    } else {
      Deployment d = AppDeployment.desired(app, plan);
      d.setStatus(new DeploymentStatusBuilder().withReplicas(1).withAvailableReplicas(1).build());
      observed = new Observed(AppServiceAccount.desired(app), SidecarConfig.desired(app, plan), d,
          AppService.desired(app),
          plan.exposed() && unsealed.ok() ? IngressTlsDefault.desired(app, plan) : null,
          AppNetworkPolicy.desired(app, plan),
          plan.sealed().any() && unsealed.ok() ? UnsealedSecret.desired(app, unsealed) : null,
          plan.retention().scheduled() ? PurgeJob.cronJob(app, plan) : null,
          null, List.of(), ImageScan.of(ImageScan.State.NOT_REQUIRED, null));
    }
    List<CheckResult> checks = Checklist.checks(plan, SidecarConfig.json(plan), observed, unsealed);
    return new OperatorView(Conditions.status(app, plan, observed, checks, unsealed.statuses(), Optional.empty(),
        Instant.now()), checks);
  }

  /** The same config the command builds from the same flags. */
  static OperatorConfig config(List<String> flags) {
    CheckCommand cmd = new CheckCommand();
    List<String> args = new ArrayList<>(flags);
    args.addAll(List.of("-f", "unused.yaml"));
    new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
    return cmd.policy.toConfig();
  }

  @ParameterizedTest
  @MethodSource("policies")
  void checkReportsWhatTheOperatorWouldForEveryVariant(List<String> policy) throws Exception {
    Random rnd = new Random(20261201L + policy.hashCode());
    List<MicroApp> apps = new ArrayList<>();
    StringBuilder yaml = new StringBuilder();
    for (int i = 0; i < APPS_PER_POLICY; i++) {
      MicroApp app = variant(rnd, i);
      apps.add(app);
      yaml.append(Serialization.asYaml(app));
    }
    Path file = Files.writeString(dir.resolve("variants.yaml"), yaml);
    List<String> args = new ArrayList<>(List.of("check", "-o", "json", "-f", file.toString()));
    args.addAll(policy);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args.toArray(String[]::new));
    assertThat(err.toString()).isEmpty();
    JsonNode reported = JSON.readTree(out.toString()).path("apps");
    assertThat(reported).hasSize(APPS_PER_POLICY);

    OperatorConfig config = config(policy);
    boolean allReady = true;
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < apps.size(); i++) {
      OperatorView op = operator(apps.get(i), config);
      JsonNode r = reported.get(i);
      String who = r.path("name").asText() + " under " + policy;
      assertThat(r.path("name").asText()).isEqualTo(apps.get(i).getMetadata().getName());

      var ready = Conditions.find(op.status(), Conditions.READY).orElseThrow();
      assertThat(r.path("ready").path("status").asBoolean()).as(who).isEqualTo("True".equals(ready.getStatus()));
      assertThat(r.path("ready").path("reason").asText()).as(who).isEqualTo(ready.getReason());
      assertThat(r.path("ready").path("message").asText()).as(who).isEqualTo(ready.getMessage());
      assertThat(r.path("exposed").asBoolean()).as(who).isEqualTo(op.status().getUrl() != null);
      assertThat(r.path("url").isNull() ? null : r.path("url").asText()).as(who).isEqualTo(op.status().getUrl());
      assertThat(r.path("checklist").path("passed").asInt()).as(who).isEqualTo(op.status().getChecklist().getPassed());
      assertThat(r.path("checklist").path("total").asInt()).as(who).isEqualTo(op.status().getChecklist().getTotal());

      JsonNode items = r.path("checklist").path("items");
      assertThat(items).hasSize(op.checks().size());
      for (int k = 0; k < op.checks().size(); k++) {
        CheckResult c = op.checks().get(k);
        JsonNode item = items.get(k);
        String what = who + " item " + c.item().key;
        assertThat(item.path("key").asText()).as(what).isEqualTo(c.item().key);
        assertThat(item.path("outcome").asText()).as(what).isEqualTo(CheckCommand.outcome(c.outcome()));
        if (c.item() == CheckResult.Item.SECRETS_SEALED && c.outcome() == CheckResult.Outcome.PASSED
            && !"NoSecrets".equals(c.reason())) {
          // The one sentence that differs: offline nothing is opened, and the output says so.
          assertThat(c.reason()).isEqualTo("Unsealed");
          assertThat(item.path("reason").asText()).as(what).isEqualTo("SealedWellFormed");
          assertThat(item.path("message").asText()).as(what).contains("not opened offline");
        } else {
          assertThat(item.path("reason").asText()).as(what).isEqualTo(c.reason());
          assertThat(item.path("message").asText()).as(what).isEqualTo(c.message());
        }
        seen.add(c.item().key + "=" + item.path("outcome").asText());
      }
      allReady &= "True".equals(ready.getStatus());
      String verdict = r.path("verdict").asText();
      seen.add(verdict.startsWith("would be exposed at ") ? "exposed"
          : verdict.startsWith("would NOT be exposed: ") ? "withheld" : verdict.startsWith("not exposed: ") ? "no host" : verdict);
    }
    assertThat(code).isEqualTo(allReady ? 0 : 1);
    // The variants exercised what they are meant to (not every policy allows every outcome).
    assertThat(seen).contains("signInRequired=PASS", "rateLimits=PASS", "secretsSealed=PASS", "secretsSealed=FAIL",
        "minimalRetention=FAIL");
    assertThat(seen).contains("withheld", "no host").containsAnyOf("exposed", "withheld");
    assertThat(seen).allMatch(s -> s.contains("=") || Set.of("exposed", "withheld", "no host").contains(s));
  }
}
