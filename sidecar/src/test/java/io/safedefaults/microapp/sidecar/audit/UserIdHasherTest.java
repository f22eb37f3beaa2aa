package io.safedefaults.microapp.sidecar.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hashed user ids stay the same for an auditor across key rotation and the move to a separate salt. */
class UserIdHasherTest {
  @TempDir Path dir;

  @Test
  void theSaltTheOperatorWritesForAnOlderAppGivesTheIdsItHadBefore() throws Exception {
    Path keyset = Files.writeString(dir.resolve("session-keyset.json"), "{\"primaryKeyId\":1,\"key\":[]}");
    String before = UserIdHasher.fromFiles(null, keyset).hash("alice-sub");

    // the operator's migration: user-id-salt = the keyset as it was; then the keyset rotates
    Path salt = Files.write(dir.resolve("user-id-salt"), Files.readAllBytes(keyset));
    Files.writeString(keyset, "{\"primaryKeyId\":2,\"key\":[]}");
    assertThat(UserIdHasher.fromFiles(salt.toString(), keyset).hash("alice-sub")).isEqualTo(before);
  }

  @Test
  void aSaltFileNotMountedYetFallsBackToTheKeysetAndDifferentSaltsGiveUnlinkableIds() throws Exception {
    Path keyset = Files.writeString(dir.resolve("session-keyset.json"), "{\"primaryKeyId\":1,\"key\":[]}");
    String fromKeyset = UserIdHasher.fromFiles(null, keyset).hash("alice-sub");
    assertThat(UserIdHasher.fromFiles(dir.resolve("user-id-salt").toString(), keyset).hash("alice-sub"))
        .isEqualTo(fromKeyset);

    Path salt = Files.writeString(dir.resolve("other-salt"), "c2FsdC1vZi1hbm90aGVyLWFwcA==");
    String otherApp = UserIdHasher.fromFiles(salt.toString(), keyset).hash("alice-sub");
    assertThat(otherApp).isNotEqualTo(fromKeyset).startsWith("u-").hasSize(34).doesNotContain("alice");
  }
}
