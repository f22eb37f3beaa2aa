package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.LocalKms;
import io.safedefaults.microapp.kms.StsTestDouble;
import io.safedefaults.microapp.kms.TransitTestDouble;
import io.safedefaults.microapp.kms.WrappedSessionKeys;
import io.safedefaults.microapp.kms.WrappedSessionKeys.Part;
import io.safedefaults.microapp.sidecar.config.ConfigException;
import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.safedefaults.microapp.sidecar.session.CookieSealer;
import io.safedefaults.microapp.sidecar.support.EchoUpstream;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A sidecar whose session keyset and user-id salt are wrapped under a Vault Transit key: it logs
 * in with its projected token (a table of live tokens stands in for the API server's TokenReview
 * here; the operator's SessionKeysKmsApiServerTest asks the real one), opens its keys, signs people
 * in, follows a rotation, keeps working keys when the KMS refuses, and refuses to start, naming
 * the field, with keys it cannot open. Vault is kms/'s Transit TEST DOUBLE.
 */
class WrappedSessionKeysTest {
  static TransitTestDouble vault;
  static Aead operatorKek;
  static Path dir;
  static volatile boolean reviewerUp = true;

  @BeforeAll
  static void start() throws Exception {
    vault = new TransitTestDouble("transit", "sessions");
    vault.kubernetesAuth("kubernetes", "microapp-sidecar", Set.of("team-food/where2eat"),
        jwt -> reviewerUp && jwt.equals("jwt-where2eat") ? Optional.of("team-food/where2eat")
            : jwt.equals("jwt-landing") ? Optional.of("team-food/landing") : Optional.empty(), 600);
    operatorKek = vault.kek("sessions");
    dir = Files.createTempDirectory(vault.dir, "keys");
  }

  @AfterAll
  static void stop() throws Exception {
    vault.close();
  }

  static String uri() {
    return vault.uri("sessions");
  }

  static void write(Path file, byte[] plaintext, Part part, String app) throws Exception {
    Files.write(file, WrappedSessionKeys.wrap(plaintext, operatorKek, part, "team-food", app));
  }

  /** The configuration the operator writes with --kms-session-key-uri, pointed at this test's files. */
  static void kmsConfig(ObjectNode c, Path keyset, Path salt, Path jwt) {
    ObjectNode session = (ObjectNode) c.get("session");
    session.put("keysetFile", keyset.toString()).put("keysetReloadSeconds", 1);
    ObjectNode kms = session.putObject("kms").put("uri", uri()).put("caFile", vault.caFile.toString());
    kms.putObject("vault").put("authPath", "kubernetes").put("role", "microapp-sidecar").put("tokenFile", jwt.toString());
    kms.putObject("app").put("namespace", "team-food").put("name", "where2eat");
    c.put("userIdSaltFile", salt.toString());
  }

  @Test
  void theSidecarOpensItsWrappedKeysSignsInAndFollowsARotation() throws Exception {
    String keysetA = SidecarHarness.newKeyset();
    KeysetHandle a = TinkJsonProtoKeysetFormat.parseKeyset(keysetA, InsecureSecretKeyAccess.get());
    KeysetHandle ab = KeysetHandle.newBuilder(a)
        .addEntry(KeysetHandle.generateEntryFromParameters(PredefinedAeadParameters.AES256_GCM).withRandomId().makePrimary())
        .build();
    Path keyset = dir.resolve("rotation-keyset.kms");
    Path salt = dir.resolve("rotation-salt.kms");
    Path jwt = dir.resolve("rotation-token");
    write(keyset, keysetA.getBytes(StandardCharsets.UTF_8), Part.KEYSET, "where2eat");
    write(salt, "c2FsdA==".getBytes(StandardCharsets.US_ASCII), Part.USER_ID_SALT, "where2eat");
    Files.writeString(jwt, "jwt-where2eat");
    try (TestProvider provider = new TestProvider();
        EchoUpstream app = new EchoUpstream();
        SidecarHarness sidecar = new SidecarHarness(provider.issuer(), app, c -> kmsConfig(c, keyset, salt, jwt),
            SidecarHarness.newKeyset())) {
      Supplier<String> signIn = () -> sidecar.signIn(provider, "kms-user");
      String before = signIn.get();
      CookieSealer onlyA = CookieSealer.fromKeysetJson(keysetA, "A");
      assertThat(onlyA.open(CookieJar.SESSION, before)).as("sealed with the keyset the KMS opened").isNotNull();

      write(keyset, TinkJsonProtoKeysetFormat.serializeKeyset(ab, InsecureSecretKeyAccess.get())
          .getBytes(StandardCharsets.UTF_8), Part.KEYSET, "where2eat");
      Thread.sleep(2_500);
      String after = signIn.get();
      assertThat(onlyA.open(CookieJar.SESSION, after)).as("new sessions use the rotated primary").isNull();
      assertThat(sidecar.statusWithSession(before)).isEqualTo(200);

      // the KMS refuses now (the login token revoked, the review failing): the keys in use stay
      reviewerUp = false;
      vault.revokeLogins();
      try {
        write(keyset, SidecarHarness.newKeyset().getBytes(StandardCharsets.UTF_8), Part.KEYSET, "where2eat");
        Thread.sleep(2_500);
        assertThat(sidecar.statusWithSession(before)).isEqualTo(200);
        assertThat(sidecar.statusWithSession(after)).isEqualTo(200);
      } finally {
        reviewerUp = true;
      }
    }
  }

  @Test
  void keysItCannotOpenStopTheStartNamingTheFieldAndTheRefusal() throws Exception {
    Path own = dir.resolve("start-keyset.kms");
    Path salt = dir.resolve("start-salt.kms");
    Path jwt = dir.resolve("start-token");
    write(own, SidecarHarness.newKeyset().getBytes(StandardCharsets.UTF_8), Part.KEYSET, "where2eat");
    write(salt, "c2FsdA==".getBytes(StandardCharsets.US_ASCII), Part.USER_ID_SALT, "where2eat");
    Path copied = dir.resolve("copied-keyset.kms");
    write(copied, SidecarHarness.newKeyset().getBytes(StandardCharsets.UTF_8), Part.KEYSET, "landing");
    Path saltAsKeyset = dir.resolve("salt-as-keyset.kms");
    write(saltAsKeyset, SidecarHarness.newKeyset().getBytes(StandardCharsets.UTF_8), Part.USER_ID_SALT, "where2eat");
    Path plain = dir.resolve("plain-keyset.json");
    Files.writeString(plain, SidecarHarness.newKeyset());
    Object[][] cases = {
        {copied, salt, "jwt-where2eat", "associated data mismatch"},
        {saltAsKeyset, salt, "jwt-where2eat", "associated data mismatch"},
        {plain, salt, "jwt-where2eat", "not a KMS envelope"},
        {own, salt, "jwt-landing", "refused the Kubernetes login at auth/kubernetes as role microapp-sidecar: HTTP 403"},
        {own, salt, "jwt-forged", "HTTP 403"},
        {own, own, "jwt-where2eat", "user id salt"},
    };
    try (EchoUpstream app = new EchoUpstream()) {
      for (Object[] c : cases) {
        Files.writeString(jwt, (String) c[2]);
        assertThatThrownBy(() -> new SidecarHarness((String) null, app, n -> {
          kmsConfig(n, (Path) c[0], (Path) c[1], jwt);
          n.put("visibility", "public");
        }, SidecarHarness.newKeyset()).close()).as("%s %s", c[0], c[2]).isInstanceOf(ConfigException.class)
            .hasMessageContaining("cannot be opened with the session KMS key " + uri() + " (field 'session.kms')")
            .hasMessageContaining((String) c[3])
            .satisfies(e -> assertThat(e.getMessage()).doesNotContain("jwt-").doesNotContain(vault.token));
      }
      Files.delete(jwt);
      assertThatThrownBy(() -> new SidecarHarness((String) null, app, n -> {
        kmsConfig(n, own, salt, jwt);
        n.put("visibility", "public");
      }, SidecarHarness.newKeyset()).close()).isInstanceOf(ConfigException.class)
          .hasMessageContaining("projected service-account token").hasMessageContaining(jwt.toString());
    }
  }

  @Test
  void underAnAwsKeyTheSidecarAssumesItsRoleWithTheProjectedTokenAndSignsEveryKmsRequest() throws Exception {
    String role = "arn:aws:iam::" + LocalKms.ACCOUNT + ":role/microapp-sidecar";
    try (LocalKms kms = new LocalKms();
        StsTestDouble sts = new StsTestDouble(java.net.InetAddress.getLoopbackAddress(), kms.port, LocalKms.REGION,
            jwt -> Optional.ofNullable(Map.of("jwt-where2eat", "team-food/where2eat", "jwt-landing", "team-food/landing")
                .get(jwt)));
        EchoUpstream app = new EchoUpstream()) {
      sts.role(role, Set.of("team-food/where2eat"));
      String key = "aws-kms://" + LocalKms.arn(LocalKms.KEY_A);
      // the operator wraps with its own credentials, straight to local-kms
      Aead operator = Kms.fromFlags(key, kms.endpoint(), null, null).kek(LocalKms.ENV);
      Path keyset = dir.resolve("aws-keyset.kms");
      Path salt = dir.resolve("aws-salt.kms");
      Path jwt = dir.resolve("aws-token");
      String keysetJson = SidecarHarness.newKeyset();
      Files.write(keyset, WrappedSessionKeys.wrap(keysetJson.getBytes(StandardCharsets.UTF_8), operator, Part.KEYSET,
          "team-food", "where2eat"));
      Files.write(salt, WrappedSessionKeys.wrap("c2FsdA==".getBytes(StandardCharsets.US_ASCII), operator,
          Part.USER_ID_SALT, "team-food", "where2eat"));
      java.util.function.Consumer<ObjectNode> aws = c -> {
        kmsConfig(c, keyset, salt, jwt);
        c.put("visibility", "public");
        ObjectNode k = (ObjectNode) c.get("session").get("kms");
        k.remove("vault");
        k.remove("caFile");
        k.put("uri", key).put("endpoint", sts.kmsEndpoint());
        k.putObject("aws").put("roleArn", role).put("tokenFile", jwt.toString()).put("stsEndpoint", sts.stsEndpoint());
      };
      Files.writeString(jwt, "jwt-where2eat");
      int signed = sts.kmsRequests.get();
      try (SidecarHarness sidecar = new SidecarHarness((String) null, app, aws, SidecarHarness.newKeyset())) {
        assertThat(sidecar.admin("/readyz").statusCode()).isEqualTo(200);
        assertThat(sts.assumed.get()).as("the role was assumed with the projected token").isEqualTo(1);
        assertThat(sts.kmsRequests.get() - signed).as("keyset and salt: each a KMS Decrypt the front verified")
            .isEqualTo(2);
      }
      Files.writeString(jwt, "jwt-landing");
      assertThatThrownBy(() -> new SidecarHarness((String) null, app, aws, SidecarHarness.newKeyset()).close())
          .isInstanceOf(ConfigException.class).hasMessageContaining("(field 'session.kms')")
          .hasMessageContaining("refused AssumeRoleWithWebIdentity for " + role).hasMessageContaining("(AccessDenied)")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("jwt-"));
    }
  }

}
