package io.safedefaults.microapp.retention;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.PurgeSpec;
import io.safedefaults.microapp.api.SecretsSpec;
import io.safedefaults.microapp.policy.AppPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The purge runner's purge.json for each target against golden files, as RenderGoldenTest does for
 * the sidecar's config.json: the runner's side of the contract (sidecar PurgeConfigLoader) reads
 * exactly these fields, so a change shows up as a reviewable diff. Regenerate with
 * -Dgolden.update=true and read the diff before committing.
 */
class PurgeConfigGoldenTest {

  @ParameterizedTest
  @ValueSource(strings = {"http", "postgres", "volume"})
  void purgeConfigMatchesGoldenFile(String target) throws Exception {
    MicroApp app = PurgeJobTest.app("team-food", "where2eat", purge(target), "30d");
    if (target.equals("postgres")) {
      app.getSpec().setSecrets(new SecretsSpec());
      app.getSpec().getSecrets().getSealed().put("DATABASE_URL", "v1:app:AQAAAAEA");
    }
    String json = PurgeJob.configJson(app, AppPlan.resolve(app, PurgeJobTest.POLICY));
    Path golden = Path.of("src/test/resources/golden/purge-" + target + ".json");
    if (Boolean.getBoolean("golden.update")) {
      Files.writeString(golden, json);
    }
    assertThat(json).isEqualTo(Files.readString(golden));
  }

  static PurgeSpec purge(String target) {
    PurgeSpec p = new PurgeSpec();
    switch (target) {
      case "http" -> p = PurgeJobTest.http("/internal/purge");
      case "postgres" -> {
        PurgeSpec.Postgres pg = new PurgeSpec.Postgres();
        pg.setConnection("DATABASE_URL");
        pg.setTable("app.events");
        pg.setColumn("created_at");
        p.setPostgres(pg);
      }
      default -> {
        PurgeSpec.Volume v = new PurgeSpec.Volume();
        v.setClaimName("where2eat-data");
        v.setPath("/uploads");
        p.setVolume(v);
      }
    }
    return p;
  }
}
