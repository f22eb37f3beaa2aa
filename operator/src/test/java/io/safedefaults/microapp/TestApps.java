package io.safedefaults.microapp;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.safedefaults.microapp.api.AuthSpec;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppSpec;
import io.safedefaults.microapp.api.PurgeSpec;
import io.safedefaults.microapp.api.RateLimitSpec;
import io.safedefaults.microapp.api.RetentionSpec;
import io.safedefaults.microapp.api.Visibility;
import java.util.ArrayList;
import java.util.List;

/** The examples/where2eat.yaml app, built in code so each test can vary it. */
public final class TestApps {
  private TestApps() {}

  public static MicroApp where2eat(String namespace) {
    MicroApp app = new MicroApp();
    app.setMetadata(new ObjectMetaBuilder().withName("where2eat").withNamespace(namespace).build());
    MicroAppSpec spec = new MicroAppSpec();
    spec.setImage("ghcr.io/acme/where2eat:1.4.2");
    spec.setPort(8080);
    spec.setHost("where2eat.apps.example.com");
    spec.setVisibility(Visibility.PRIVATE);
    AuthSpec auth = new AuthSpec();
    auth.setIssuer("https://login.example.com/realms/acme");
    auth.setAllowedGroups(new ArrayList<>(List.of("food-team")));
    auth.setAllowedEmailDomains(new ArrayList<>(List.of("acme.com")));
    auth.setAdminPaths(new ArrayList<>(List.of("/admin/**", "/export")));
    auth.setSessionTTL("8h");
    spec.setAuth(auth);
    RateLimitSpec limits = new RateLimitSpec();
    RateLimitSpec.PerIp perIp = new RateLimitSpec.PerIp();
    perIp.setRequestsPerMinute(100);
    perIp.setBurstPerSecond(10);
    limits.setPerIP(perIp);
    RateLimitSpec.PerUser perUser = new RateLimitSpec.PerUser();
    perUser.setRequestsPerMinute(60);
    limits.setPerUser(perUser);
    spec.setRateLimit(limits);
    RetentionSpec retention = new RetentionSpec();
    retention.setTtl("30d");
    PurgeSpec purge = new PurgeSpec();
    PurgeSpec.Http http = new PurgeSpec.Http();
    http.setPath("/internal/purge");
    purge.setHttp(http);
    retention.setPurge(purge);
    spec.setRetention(retention);
    spec.setOverrides(new ArrayList<>());
    app.setSpec(spec);
    return app;
  }
}
