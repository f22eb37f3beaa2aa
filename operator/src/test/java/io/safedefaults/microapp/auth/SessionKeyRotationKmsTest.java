package io.safedefaults.microapp.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import io.fabric8.kubernetes.api.model.Secret;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.TransitTestDouble;
import io.safedefaults.microapp.kms.WrappedSessionKeys;
import io.safedefaults.microapp.kms.WrappedSessionKeys.Part;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Session keysets moving under a KMS key and back, and rotating there (with the Transit TEST
 * DOUBLE of kms/): nothing a sidecar needs is lost on the way, hashed user ids stay the same, and a
 * keyset nobody can open is replaced rather than left to stop every sidecar.
 */
class SessionKeyRotationKmsTest {
  static final Duration PERIOD = SessionKeyRotationTest.PERIOD;
  static final Instant CREATED = SessionKeyRotationTest.CREATED;
  static TransitTestDouble vault;
  static Path tokenFile;
  static SessionKeyWrapping wrapping;
  static SessionKeyWrapping otherKey;

  @BeforeAll
  static void start() throws Exception {
    vault = new TransitTestDouble("transit", "sessions", "sessions-2");
    tokenFile = vault.operatorTokenFile();
    wrapping = wrapping("sessions");
    otherKey = wrapping("sessions-2");
  }

  static SessionKeyWrapping wrapping(String key) throws java.io.IOException {
    return new SessionKeyWrapping(vault.kek(key), vault.uri(key));
  }

  @AfterAll
  static void stop() throws Exception {
    vault.close();
  }

  static Secret plain() {
    return SessionKeyRotationTest.stored(SessionKeys.desired(SessionKeyRotationTest.app()));
  }

  static Secret wrapped(SessionKeyWrapping w) {
    return SessionKeyRotationTest.stored(SessionKeys.desired(SessionKeyRotationTest.app(), w));
  }

  static byte[] part(Secret s, Part part, SessionKeyWrapping w) throws Exception {
    byte[] raw = Base64.getDecoder().decode(s.getData().get(part == Part.KEYSET ? (w == null ? SidecarConfig.KEYSET_FILE
        : Part.KEYSET.file) : (w == null ? SidecarConfig.USER_ID_SALT_FILE : Part.USER_ID_SALT.file)));
    return w == null ? raw : WrappedSessionKeys.open(raw, w.kek(), part, "team-food", "where2eat");
  }

  static List<Integer> keyIds(byte[] json) throws Exception {
    KeysetHandle h = TinkJsonProtoKeysetFormat.parseKeyset(new String(json, StandardCharsets.UTF_8), InsecureSecretKeyAccess.get());
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < h.size(); i++) {
      ids.add(h.getAt(i).getId());
    }
    return ids;
  }

  static Optional<SessionKeyRotation.Next> next(Secret s, Instant now, SessionKeyWrapping w) {
    return SessionKeyRotation.next(s, now, PERIOD, w, "team-food", "where2eat");
  }

  @Test
  void aPlaintextKeysetIsWrappedAtOnceWithTheSameKeysAndSalt() throws Exception {
    Secret before = plain();
    SessionKeyRotation.Next next = next(before, CREATED.plusSeconds(60), wrapping).orElseThrow();
    assertThat(next.action()).isEqualTo("session-keys.wrapped");
    assertThat(next.secret().getData()).containsOnlyKeys(Part.KEYSET.file, Part.USER_ID_SALT.file);
    assertThat(next.secret().getMetadata().getAnnotations()).containsEntry(Kms.WRAPPED_BY, wrapping.keyName());
    assertThat(keyIds(part(next.secret(), Part.KEYSET, wrapping))).isEqualTo(keyIds(part(before, Part.KEYSET, null)));
    assertThat(part(next.secret(), Part.USER_ID_SALT, wrapping)).isEqualTo(part(before, Part.USER_ID_SALT, null));
    assertThat(next(next.secret(), CREATED.plusSeconds(120), wrapping)).as("then nothing is due").isEmpty();
  }

  @Test
  void aWrappedKeysetRotatesUnderTheKmsAndOldKeysLeaveOnSchedule() throws Exception {
    Secret s = wrapped(wrapping);
    List<Integer> first = keyIds(part(s, Part.KEYSET, wrapping));
    byte[] salt = part(s, Part.USER_ID_SALT, wrapping);
    Secret rotated = SessionKeyRotationTest.stored(next(s, CREATED.plus(PERIOD), wrapping).orElseThrow().secret());
    List<Integer> second = keyIds(part(rotated, Part.KEYSET, wrapping));
    assertThat(second).hasSize(2).containsAll(first);
    assertThat(part(rotated, Part.USER_ID_SALT, wrapping)).isEqualTo(salt);
    Secret pruned = SessionKeyRotationTest.stored(next(rotated, CREATED.plus(PERIOD).plus(Duration.ofHours(26)), wrapping)
        .orElseThrow().secret());
    assertThat(keyIds(part(pruned, Part.KEYSET, wrapping))).hasSize(1).doesNotContainAnyElementsOf(first);
  }

  @Test
  void aKeysetNobodyCanOpenIsReplacedAndOneTheKmsCannotReachYetIsKept() throws Exception {
    Secret s = wrapped(wrapping);
    // the flag dropped: the sidecars read plaintext files again
    SessionKeyRotation.Next off = next(s, CREATED.plusSeconds(60), null).orElseThrow();
    assertThat(off.action()).isEqualTo("session-keys.replaced");
    assertThat(off.secret().getData()).containsOnlyKeys(SidecarConfig.KEYSET_FILE, SidecarConfig.USER_ID_SALT_FILE);
    assertThat(off.secret().getMetadata().getAnnotations()).doesNotContainKey(Kms.WRAPPED_BY);
    assertThat(keyIds(part(off.secret(), Part.KEYSET, null))).hasSize(1);
    // another key named: what the old one wrapped cannot be opened by the sidecars' new key
    SessionKeyRotation.Next moved = next(s, CREATED.plusSeconds(60), otherKey).orElseThrow();
    assertThat(moved.action()).isEqualTo("session-keys.replaced");
    assertThat(moved.secret().getMetadata().getAnnotations()).containsEntry(Kms.WRAPPED_BY, otherKey.keyName());
    assertThat(keyIds(part(moved.secret(), Part.KEYSET, otherKey))).hasSize(1);
    // another app's wrapped keyset copied in: refused by the associated data, replaced when a rotation opens it
    Secret copied = SessionKeyRotationTest.stored(SessionKeys.desired(other(), wrapping));
    assertThat(next(copied, CREATED.plusSeconds(60), wrapping)).as("nothing due, nothing asked").isEmpty();
    assertThat(next(copied, CREATED.plus(PERIOD), wrapping).orElseThrow().action()).isEqualTo("session-keys.replaced");
    // the KMS cannot be asked: the keyset stays as it is, the next reconcile tries again
    int closed;
    try (var socket = new java.net.ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    String down = "vault-transit://localhost:" + closed + "/transit/keys/sessions";
    Aead unreachable = Kms.fromFlags(down, null, tokenFile.toString(), vault.caFile.toString()).kek(Map.of());
    SessionKeyWrapping sameNameDown = new SessionKeyWrapping(unreachable, wrapping.keyName());
    assertThat(next(s, CREATED.plus(PERIOD), sameNameDown)).isEmpty();
    assertThat(next(plain(), CREATED.plusSeconds(60), sameNameDown)).as("a plaintext keyset stays until it can be wrapped")
        .isEmpty();
  }

  @Test
  void everyPathKeepsASecretTheSidecarCanOpen() throws Exception {
    Random random = new Random(1807);
    SessionKeyWrapping[] choices = {null, wrapping, otherKey};
    Secret s = plain();
    SessionKeyWrapping current = null;
    Instant now = CREATED;
    for (int step = 0; step < 14; step++) {
      SessionKeyWrapping w = choices[random.nextInt(choices.length)];
      now = now.plus(Duration.ofDays(random.nextInt(3) * 20L)).plusSeconds(1);
      Optional<SessionKeyRotation.Next> next = next(s, now, w);
      if (next.isPresent()) {
        s = SessionKeyRotationTest.stored(next.get().secret());
        current = w;
      }
      assertThat(current).as("step %d: the Secret is in the form the configured key says", step).isEqualTo(w);
      List<Integer> ids = keyIds(part(s, Part.KEYSET, w));
      assertThat(ids).as("step %d", step).isNotEmpty().hasSizeLessThanOrEqualTo(3);
      assertThat(part(s, Part.USER_ID_SALT, w)).isNotEmpty();
      assertThat(s.getData().keySet()).as("never both forms at once").containsAnyOf(SidecarConfig.KEYSET_FILE, Part.KEYSET.file)
          .doesNotContain(w == null ? Part.KEYSET.file : SidecarConfig.KEYSET_FILE);
    }
  }

  static io.safedefaults.microapp.api.MicroApp other() {
    io.safedefaults.microapp.api.MicroApp app = SessionKeyRotationTest.app();
    app.getMetadata().setName("landing");
    return app;
  }
}
