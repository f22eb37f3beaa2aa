package io.safedefaults.microapp.secrets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KeysetHandle;
import io.safedefaults.microapp.kms.KmsUnavailableException;
import io.safedefaults.microapp.kms.TransitTestDouble;
import java.security.GeneralSecurityException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The sealing keyset wrapped under a Vault Transit key (the TEST DOUBLE of kms/'s tests). */
class SealingKeysetWrapTest {
  static TransitTestDouble vault;

  @BeforeAll
  static void start() throws Exception {
    vault = new TransitTestDouble("transit", "microapp", "other");
  }

  @AfterAll
  static void stop() throws Exception {
    vault.close();
  }

  static Aead kek(String key) throws java.io.IOException {
    return vault.kek(key);
  }

  @Test
  void aSealingKeysetWrapsAndOpensOnlyWithTheSameKeyAndAssociatedData() throws Exception {
    KeysetHandle keys = SealingKeys.rotate(SealingKeys.generate());
    byte[] ad = SealingKeyStore.associatedData("microapp-system");
    byte[] wrapped = SealingKeyStore.wrap(keys, kek("microapp"), ad);
    assertThat(SealingKeys.keyIds(SealingKeyStore.unwrap(wrapped, kek("microapp"), ad))).isEqualTo(SealingKeys.keyIds(keys));
    assertThatThrownBy(() -> SealingKeyStore.unwrap(wrapped, kek("microapp"), SealingKeyStore.associatedData("team-a")))
        .isInstanceOf(GeneralSecurityException.class);
    assertThatThrownBy(() -> SealingKeyStore.unwrap(wrapped, kek("other"), ad)).isInstanceOf(GeneralSecurityException.class)
        .isNotInstanceOf(KmsUnavailableException.class);
  }
}
