package io.safedefaults.microapp.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.safedefaults.microapp.api.MicroApp;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Session keys rotate like sealing keys: a new primary on schedule, old cookies open until no session can use them. */
class SessionKeyRotationTest {
  static final Duration PERIOD = Duration.ofDays(30);
  static final Instant CREATED = Instant.parse("2026-01-01T00:00:00Z");
  static final byte[] AD = "__Host-microapp-session".getBytes(StandardCharsets.US_ASCII);

  /** The Secret as the API server returns it: data base64, created at CREATED. */
  static Secret stored(Secret desired) {
    Map<String, String> data = new java.util.LinkedHashMap<>(desired.getData() == null ? Map.of() : desired.getData());
    if (desired.getStringData() != null) {
      desired.getStringData().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
    }
    return new SecretBuilder(desired).withStringData(null).withData(data)
        .editMetadata().withCreationTimestamp(CREATED.toString()).withResourceVersion("7").endMetadata().build();
  }

  static Aead aead(Secret s) throws GeneralSecurityException {
    String json = new String(Base64.getDecoder().decode(s.getData().get(SidecarConfig.KEYSET_FILE)), StandardCharsets.UTF_8);
    return TinkJsonProtoKeysetFormat.parseKeyset(json, InsecureSecretKeyAccess.get())
        .getPrimitive(RegistryConfiguration.get(), Aead.class);
  }

  static int keys(Secret s) throws GeneralSecurityException {
    String json = new String(Base64.getDecoder().decode(s.getData().get(SidecarConfig.KEYSET_FILE)), StandardCharsets.UTF_8);
    return TinkJsonProtoKeysetFormat.parseKeyset(json, InsecureSecretKeyAccess.get()).size();
  }

  static MicroApp app() {
    MicroApp app = new MicroApp();
    app.setMetadata(new ObjectMetaBuilder().withName("where2eat").withNamespace("team-food").withUid("uid-1").build());
    return app;
  }

  Secret fresh = stored(SessionKeys.desired(app()));

  @Test
  void nothingIsWrittenBeforeTheKeyIsDue() {
    assertThat(SessionKeyRotation.next(fresh, CREATED.plus(PERIOD).minusSeconds(1), PERIOD)).isEmpty();
  }

  @Test
  void aDueKeyGetsANewPrimaryAndCookiesSealedBeforeStillOpenUntilNoSessionCanUseThem() throws Exception {
    byte[] before = aead(fresh).encrypt("session".getBytes(StandardCharsets.UTF_8), AD);
    Instant due = CREATED.plus(PERIOD);

    Secret rotated = SessionKeyRotation.next(fresh, due, PERIOD).orElseThrow();
    assertThat(keys(rotated)).isEqualTo(2);
    assertThat(rotated.getMetadata().getAnnotations()).containsEntry(SessionKeyRotation.ROTATED_AT, due.toString())
        .containsKey(SessionKeyRotation.RETIRED);
    assertThat(rotated.getMetadata().getResourceVersion()).as("written with optimistic locking").isEqualTo("7");
    assertThat(rotated.getData().get(SidecarConfig.USER_ID_SALT_FILE)).as("the salt never rotates")
        .isEqualTo(fresh.getData().get(SidecarConfig.USER_ID_SALT_FILE));
    assertThat(aead(rotated).decrypt(before, AD)).isEqualTo("session".getBytes(StandardCharsets.UTF_8));
    byte[] after = aead(rotated).encrypt("new".getBytes(StandardCharsets.UTF_8), AD);
    assertThatThrownBy(() -> aead(fresh).decrypt(after, AD)).as("new cookies use the new key")
        .isInstanceOf(GeneralSecurityException.class);

    // a reconcile an hour later changes nothing; 25 h after the rotation the old key goes
    assertThat(SessionKeyRotation.next(rotated, due.plus(Duration.ofHours(1)), PERIOD)).isEmpty();
    Secret pruned = SessionKeyRotation.next(rotated, due.plus(Duration.ofHours(25)), PERIOD).orElseThrow();
    assertThat(keys(pruned)).isEqualTo(1);
    assertThat(pruned.getMetadata().getAnnotations()).doesNotContainKey(SessionKeyRotation.RETIRED);
    assertThat(aead(pruned).decrypt(after, AD)).isEqualTo("new".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> aead(pruned).decrypt(before, AD)).isInstanceOf(GeneralSecurityException.class);
    assertThat(SessionKeyRotation.next(pruned, due.plus(Duration.ofHours(26)), PERIOD)).isEmpty();
  }

  @Test
  void aSecretFromBeforeTheSaltKeepsItsHashedUserIdsByTakingTheKeysetAsSalt() {
    Secret old = new SecretBuilder(fresh).build();
    Map<String, String> data = new java.util.LinkedHashMap<>(old.getData());
    data.remove(SidecarConfig.USER_ID_SALT_FILE);
    old.setData(data);

    Secret migrated = SessionKeyRotation.next(old, CREATED.plusSeconds(60), PERIOD).orElseThrow();
    // the sidecar salted with the keyset file's bytes before; the salt file now holds exactly those
    assertThat(migrated.getData().get(SidecarConfig.USER_ID_SALT_FILE)).isEqualTo(old.getData().get(SidecarConfig.KEYSET_FILE));
    assertThat(migrated.getData().get(SidecarConfig.KEYSET_FILE)).isEqualTo(old.getData().get(SidecarConfig.KEYSET_FILE));
    assertThat(SessionKeyRotation.next(migrated, CREATED.plusSeconds(120), PERIOD)).isEmpty();
  }

  @Test
  void anUnreadableKeysetIsLeftAlone() {
    Secret broken = new SecretBuilder(fresh).addToData(SidecarConfig.KEYSET_FILE,
        Base64.getEncoder().encodeToString("{not a keyset".getBytes(StandardCharsets.UTF_8))).build();
    assertThat(SessionKeyRotation.next(broken, CREATED.plus(PERIOD).plus(PERIOD), PERIOD)).isEmpty();
  }
}
