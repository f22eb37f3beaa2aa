package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import io.safedefaults.microapp.sidecar.session.CookieJar;
import io.safedefaults.microapp.sidecar.session.CookieSealer;
import io.safedefaults.microapp.sidecar.support.EchoUpstream;
import io.safedefaults.microapp.sidecar.support.SidecarHarness;
import io.safedefaults.microapp.sidecar.support.TestProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The operator rotates an app's session keyset in place (new primary, old key removed a day
 * later); a running sidecar follows the mounted file: new sessions use the new key, sessions from
 * before keep working until their key is removed, and no restart is needed.
 */
class SessionKeyReloadTest {

  @Test
  void aRotatedKeysetIsUsedWithoutARestartAndARemovedKeyEndsItsSessions() throws Exception {
    String keysetA = SidecarHarness.newKeyset();
    KeysetHandle a = TinkJsonProtoKeysetFormat.parseKeyset(keysetA, InsecureSecretKeyAccess.get());
    KeysetHandle ab = KeysetHandle.newBuilder(a)
        .addEntry(KeysetHandle.generateEntryFromParameters(PredefinedAeadParameters.AES256_GCM).withRandomId().makePrimary())
        .build();
    KeysetHandle b = KeysetHandle.newBuilder(ab).deleteAt(0).build();
    try (TestProvider provider = new TestProvider();
        EchoUpstream app = new EchoUpstream();
        SidecarHarness sidecar = new SidecarHarness(provider.issuer(), app,
            c -> ((ObjectNode) c.get("session")).put("keysetReloadSeconds", 1), keysetA)) {
      Path file = sidecar.dir.resolve("session-keyset.json");
      Supplier<String> signIn = () -> sidecar.signIn(provider, "rot-user");
      String before = signIn.get();

      Files.writeString(file, TinkJsonProtoKeysetFormat.serializeKeyset(ab, InsecureSecretKeyAccess.get()));
      Thread.sleep(2_500);
      String after = signIn.get();
      CookieSealer onlyA = CookieSealer.fromKeysetJson(keysetA, "A");
      assertThat(onlyA.open(CookieJar.SESSION, before)).isNotNull();
      assertThat(onlyA.open(CookieJar.SESSION, after)).as("new sessions are sealed with the new primary key").isNull();
      assertThat(sidecar.statusWithSession(before)).as("sessions from before the rotation still work").isEqualTo(200);
      assertThat(sidecar.statusWithSession(after)).isEqualTo(200);

      Files.writeString(file, TinkJsonProtoKeysetFormat.serializeKeyset(b, InsecureSecretKeyAccess.get()));
      Thread.sleep(2_500);
      assertThat(sidecar.statusWithSession(before)).as("the old key is gone, and with it its sessions").isEqualTo(401);
      assertThat(sidecar.statusWithSession(after)).isEqualTo(200);

      // a half-written or broken file never replaces working keys
      Files.writeString(file, "{\"primaryKeyId\": ");
      Thread.sleep(2_500);
      assertThat(sidecar.statusWithSession(after)).isEqualTo(200);
    }
  }

}
