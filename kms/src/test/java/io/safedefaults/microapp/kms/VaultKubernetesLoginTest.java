package io.safedefaults.microapp.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import io.safedefaults.microapp.kms.WrappedSessionKeys.Part;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sidecar's way to the KMS: a Vault Kubernetes-auth login with its projected token, against
 * the Transit TEST DOUBLE (its reviewer here is a table of tokens; the operator's API-server test
 * puts a real TokenReview behind it). And the wrapped session keys' binding to part and app.
 */
class VaultKubernetesLoginTest {
  static TransitTestDouble vault;
  static Path jwtFile;
  static final Map<String, String> LIVE_TOKENS = Map.of("jwt-team-a-where2eat", "team-a/where2eat",
      "jwt-team-b-landing", "team-b/landing", "jwt-kube-system-default", "kube-system/default");

  @BeforeAll
  static void start() throws Exception {
    vault = new TransitTestDouble("transit", "sessions", "sealing");
    vault.kubernetesAuth("kubernetes", "microapp-sidecar", Set.of("team-a/*", "team-b/landing"),
        jwt -> Optional.ofNullable(LIVE_TOKENS.get(jwt)), 600);
    jwtFile = vault.dir.resolve("projected-token");
  }

  @AfterAll
  static void stop() throws Exception {
    vault.close();
  }

  static Kms sidecar(String role) {
    return new Kms(KmsUri.parse(vault.uri("sessions"), null), null,
        new Kms.VaultLogin("kubernetes", role, jwtFile), vault.caFile);
  }

  static Aead operatorKek() throws java.io.IOException {
    return vault.kek("sessions");
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aSidecarOpensWhatTheOperatorWrappedForItsAppLoggingInOncePerLease() throws Exception {
    Files.writeString(jwtFile, "jwt-team-a-where2eat\n");
    byte[] wrapped = WrappedSessionKeys.wrap(b("{\"keyset\":1}"), operatorKek(), Part.KEYSET, "team-a", "where2eat");
    MutableClock clock = new MutableClock();
    Aead kek = sidecar("microapp-sidecar").kek(Map.of(), clock);
    int before = vault.logins.get();
    for (int i = 0; i < 5; i++) {
      assertThat(WrappedSessionKeys.open(wrapped, kek, Part.KEYSET, "team-a", "where2eat")).isEqualTo(b("{\"keyset\":1}"));
    }
    assertThat(vault.logins.get() - before).as("one login serves the lease").isEqualTo(1);

    clock.now = clock.now.plus(Duration.ofSeconds(600 * 4 / 5));
    WrappedSessionKeys.open(wrapped, kek, Part.KEYSET, "team-a", "where2eat");
    assertThat(vault.logins.get() - before).as("four fifths into the lease a new login is made").isEqualTo(2);

    vault.revokeLogins();
    assertThat(WrappedSessionKeys.open(wrapped, kek, Part.KEYSET, "team-a", "where2eat"))
        .as("a revoked login token is replaced by one new login").isEqualTo(b("{\"keyset\":1}"));
    assertThat(vault.logins.get() - before).isEqualTo(3);
  }

  @Test
  void onlyABoundLiveServiceAccountGetsIn() throws Exception {
    byte[] wrapped = WrappedSessionKeys.wrap(b("k"), operatorKek(), Part.KEYSET, "team-b", "landing");
    for (String jwt : new String[] {"jwt-kube-system-default", "jwt-expired-or-forged", "jwt-team-b-other"}) {
      Files.writeString(jwtFile, jwt);
      Aead kek = sidecar("microapp-sidecar").kek(Map.of());
      assertThatThrownBy(() -> WrappedSessionKeys.open(wrapped, kek, Part.KEYSET, "team-b", "landing"))
          .as(jwt).isInstanceOf(GeneralSecurityException.class).isNotInstanceOf(KmsUnavailableException.class)
          .hasMessageContaining("refused the Kubernetes login at auth/kubernetes as role microapp-sidecar: HTTP 403");
    }
    Files.writeString(jwtFile, "jwt-team-b-landing");
    assertThatThrownBy(() -> WrappedSessionKeys.open(wrapped, sidecar("no-such-role").kek(Map.of()), Part.KEYSET,
        "team-b", "landing")).hasMessageContaining("HTTP 400 (invalid role name");
    assertThat(WrappedSessionKeys.open(wrapped, sidecar("microapp-sidecar").kek(Map.of()), Part.KEYSET, "team-b", "landing"))
        .isEqualTo(b("k"));

    Aead noToken = new Kms(KmsUri.parse(vault.uri("sessions"), null), null,
        new Kms.VaultLogin("kubernetes", "microapp-sidecar", vault.dir.resolve("not-mounted")), vault.caFile).kek(Map.of());
    assertThatThrownBy(() -> noToken.decrypt(wrapped, b("x"))).isInstanceOf(KmsUnavailableException.class)
        .hasMessageContaining("projected service-account token").hasMessageContaining("not-mounted");
  }

  @Test
  void wrappedKeysOpenOnlyAsTheSamePartOfTheSameApp() throws Exception {
    Aead kek = operatorKek();
    Random random = new Random(18);
    String[] namespaces = {"team-a", "team-b", "team-a-b", "team"};
    String[] apps = {"where2eat", "landing", "a-b", "b", "a"};
    for (int i = 0; i < 8; i++) {
      String ns = namespaces[random.nextInt(namespaces.length)];
      String app = apps[random.nextInt(apps.length)];
      Part part = Part.values()[random.nextInt(2)];
      byte[] secret = new byte[1 + random.nextInt(300)];
      random.nextBytes(secret);
      byte[] wrapped = WrappedSessionKeys.wrap(secret, kek, part, ns, app);
      assertThat(WrappedSessionKeys.open(wrapped, kek, part, ns, app)).isEqualTo(secret);
      Part other = part == Part.KEYSET ? Part.USER_ID_SALT : Part.KEYSET;
      assertThatThrownBy(() -> WrappedSessionKeys.open(wrapped, kek, other, ns, app))
          .isInstanceOf(GeneralSecurityException.class);
      for (String ns2 : namespaces) {
        for (String app2 : apps) {
          if (!(ns2.equals(ns) && app2.equals(app))) {
            assertThatThrownBy(() -> WrappedSessionKeys.open(wrapped, kek, part, ns2, app2))
                .as("%s/%s opened as %s/%s", ns, app, ns2, app2).isInstanceOf(GeneralSecurityException.class);
          }
        }
      }
    }
  }

  @Test
  void aLoginIsNamedStrictly() {
    for (String path : new String[] {"", "/kubernetes", "kubernetes/", "a/../b", "kube netes", "k8s?x=1"}) {
      assertThatThrownBy(() -> new Kms.VaultLogin(path, "r", jwtFile)).as(path)
          .hasMessageContaining("Vault auth path");
    }
    for (String role : new String[] {"", "a/b", "role with space", "x".repeat(129)}) {
      assertThatThrownBy(() -> new Kms.VaultLogin("kubernetes", role, jwtFile)).as(role).hasMessageContaining("Vault role");
    }
    assertThat(new Kms.VaultLogin("auth-clusters/prod.eu", "microapp-sidecar", jwtFile).authPath())
        .isEqualTo("auth-clusters/prod.eu");
  }

  static final class MutableClock extends Clock {
    Instant now = Instant.parse("2026-12-07T12:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
