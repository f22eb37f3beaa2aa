package io.safedefaults.microapp.secrets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KeysetHandle;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.KmsUnavailableException;
import io.safedefaults.microapp.kms.TransitTestDouble;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The sealing keyset wrapped under a Vault Transit key (the TEST DOUBLE of kms/'s tests). */
class SealingKeysetWrapTest {
  static TransitTestDouble vault;
  static Path tokenFile;

  @BeforeAll
  static void start() throws Exception {
    vault = new TransitTestDouble("transit", "microapp", "other");
    tokenFile = vault.dir.resolve("token");
    Files.writeString(tokenFile, vault.token + "\n");
  }

  @AfterAll
  static void stop() throws Exception {
    vault.close();
  }

  static Aead kek(String key) {
    return Kms.fromFlags("vault-transit://localhost:" + vault.port() + "/transit/keys/" + key, null,
        tokenFile.toString(), vault.caFile.toString()).kek(Map.of());
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
