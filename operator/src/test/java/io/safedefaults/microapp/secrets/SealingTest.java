package io.safedefaults.microapp.secrets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.google.crypto.tink.KeysetHandle;
import io.safedefaults.microapp.secrets.SealedValue.Scope;
import io.safedefaults.microapp.secrets.SealedValueDecryptor.UnsealException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class SealingTest {
  static final byte[] VALUE = "maps-key-1234567890".getBytes(StandardCharsets.UTF_8);
  KeysetHandle keys = SealingKeys.generate();
  Sealer sealer = new Sealer(SealingKeys.publicKeys(keys));
  SealedValueDecryptor decryptor = new SealedValueDecryptor(keys);

  String seal(Scope scope, String ns, String app, String key) {
    return sealer.seal(VALUE, scope, ns, app, key).text();
  }

  @Test
  void roundTripOpensOnlyWhereSealed() throws Exception {
    String sealed = seal(Scope.APP, "team-food", "where2eat", "MAPS_API_KEY");
    assertThat(sealed).startsWith("v1:app:");
    assertThat(decryptor.open(sealed, "team-food", "where2eat", "MAPS_API_KEY")).isEqualTo(VALUE);
  }

  @Test
  void wrongAppNamespaceOrKeyDoesNotOpen() {
    String sealed = seal(Scope.APP, "team-food", "where2eat", "MAPS_API_KEY");
    assertFails(sealed, "team-food", "other-app", "MAPS_API_KEY", "WrongScopeOrTampered");
    assertFails(sealed, "team-other", "where2eat", "MAPS_API_KEY", "WrongScopeOrTampered");
    assertFails(sealed, "team-food", "where2eat", "OTHER_KEY", "WrongScopeOrTampered");
  }

  @Test
  void namespaceWideValuesOpenForAnyAppOfThatNamespaceOnly() throws Exception {
    String sealed = seal(Scope.NAMESPACE, "team-food", null, "SMTP_PASSWORD");
    assertThat(sealed).startsWith("v1:ns:");
    assertThat(decryptor.open(sealed, "team-food", "where2eat", "SMTP_PASSWORD")).isEqualTo(VALUE);
    assertThat(decryptor.open(sealed, "team-food", "landing", "SMTP_PASSWORD")).isEqualTo(VALUE);
    assertFails(sealed, "team-other", "where2eat", "SMTP_PASSWORD", "WrongScopeOrTampered");
    // Relabelling a namespace-wide value as app-scoped changes its context: it no longer opens.
    assertFails(sealed.replace("v1:ns:", "v1:app:"), "team-food", "where2eat", "SMTP_PASSWORD", "WrongScopeOrTampered");
  }

  @Test
  void everySingleByteFlipIsDetected() {
    SealedValue v = sealer.seal(VALUE, Scope.APP, "ns", "app", "K");
    byte[] ct = v.ciphertext();
    for (int i = 0; i < ct.length; i++) {
      for (int bit : new int[] {0x01, 0x80}) {
        byte[] flipped = ct.clone();
        flipped[i] ^= (byte) bit;
        String text = "v1:app:" + Base64.getEncoder().encodeToString(flipped);
        try {
          decryptor.open(text, "ns", "app", "K");
          fail("flipping byte " + i + " went unnoticed");
        } catch (UnsealException e) {
          assertThat(e.reason()).isIn("WrongScopeOrTampered", "UnknownKey", "Malformed");
          assertThat(e.getMessage()).doesNotContain("maps-key");
        }
      }
    }
  }

  @Test
  void sealingTwiceGivesDifferentCiphertexts() {
    assertThat(seal(Scope.APP, "ns", "app", "K")).isNotEqualTo(seal(Scope.APP, "ns", "app", "K"));
  }

  @Test
  void rotationKeepsOldValuesOpeningAndSealsWithTheNewKey() throws Exception {
    String old = seal(Scope.APP, "ns", "app", "K");
    KeysetHandle rotated = SealingKeys.rotate(keys);
    assertThat(SealingKeys.keyIds(rotated)).hasSize(2);
    assertThat(SealingKeys.primaryKeyId(rotated)).isNotEqualTo(SealingKeys.primaryKeyId(keys));

    SealedValueDecryptor after = new SealedValueDecryptor(rotated);
    assertThat(after.open(old, "ns", "app", "K")).isEqualTo(VALUE);
    SealedValue fresh = new Sealer(SealingKeys.publicKeys(rotated)).seal(VALUE, Scope.APP, "ns", "app", "K");
    assertThat(fresh.keyId()).isEqualTo(SealingKeys.primaryKeyId(rotated));
    assertThat(SealedValue.parse(old).keyId()).isEqualTo(SealingKeys.primaryKeyId(keys));
  }

  @Test
  void valueSealedForAnotherClusterNamesItsKey() {
    KeysetHandle otherCluster = SealingKeys.generate();
    String foreign = new Sealer(SealingKeys.publicKeys(otherCluster)).seal(VALUE, Scope.APP, "ns", "app", "K").text();
    UnsealException e = assertFails(foreign, "ns", "app", "K", "UnknownKey");
    assertThat(e.keyId()).isEqualTo(SealingKeys.primaryKeyId(otherCluster));
    assertThat(e.getMessage()).contains(Long.toString(SealingKeys.primaryKeyId(otherCluster)));
  }

  @Test
  void garbageIsMalformedNotACrash() {
    assertFails("hunter2", "ns", "app", "K", "Malformed");
    assertFails("v1:app:!!!", "ns", "app", "K", "Malformed");
    assertFails("v1:app:AAAA", "ns", "app", "K", "Malformed");
  }

  @Test
  void keysetsSurviveSerialisationAndPublicKeysCannotOpen() throws Exception {
    String sealed = seal(Scope.APP, "ns", "app", "K");
    KeysetHandle restored = SealingKeys.parsePrivate(SealingKeys.serializePrivate(keys));
    assertThat(new SealedValueDecryptor(restored).open(sealed, "ns", "app", "K")).isEqualTo(VALUE);
    String pub = SealingKeys.serializePublic(SealingKeys.publicKeys(keys));
    assertThatThrownBy(() -> new SealedValueDecryptor(SealingKeys.parsePublic(pub)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealingKeys.parsePrivate(pub)).hasMessage("not a Tink JSON private keyset");
  }

  @Test
  void withoutTheClusterKeysEveryValueSaysWhyAndHowToGetThemBack() {
    String sealed = seal(Scope.APP, "ns", "app", "K");
    decryptor = SealedValueDecryptor.keysMissing("the sealing keys Secret ops/keys is missing; restore it");
    UnsealException e = assertFails(sealed, "ns", "app", "K", SealedValueDecryptor.KEYS_MISSING);
    assertThat(e.getMessage()).isEqualTo("cannot be opened: the sealing keys Secret ops/keys is missing; restore it");
    assertThat(e.keyId()).as("the key it waits for").isEqualTo(SealingKeys.primaryKeyId(keys));
    assertFails("hunter2", "ns", "app", "K", "Malformed");
    assertThat(decryptor.hasKeys()).isFalse();
  }

  UnsealException assertFails(String sealed, String ns, String app, String key, String reason) {
    try {
      decryptor.open(sealed, ns, app, key);
    } catch (UnsealException e) {
      assertThat(e.reason()).isEqualTo(reason);
      return e;
    }
    throw new AssertionError("expected " + reason);
  }
}
