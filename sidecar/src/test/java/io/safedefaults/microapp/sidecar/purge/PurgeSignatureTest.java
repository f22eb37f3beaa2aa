package io.safedefaults.microapp.sidecar.purge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** A purge signature verifies for exactly the call it was made for, within five minutes. */
class PurgeSignatureTest {
  @Test
  void aSignatureHoldsForItsCallAndNoOther() {
    long seed = Long.getLong("signature.seed", System.nanoTime());
    Random random = new Random(seed);
    for (int n = 0; n < 2_000; n++) {
      String token = "tok" + Long.toHexString(random.nextLong());
      long t = 1_700_000_000L + random.nextInt(100_000_000);
      String path = "/internal/purge" + (random.nextBoolean() ? "" : "/" + random.nextInt(100));
      String body = "olderThan=2025-0" + (1 + random.nextInt(9)) + "-01T00%3A00%3A00Z";
      String sig = PurgeSignature.sign(token, t, "POST", path, body);
      long now = t + random.nextInt(601) - 300;
      assertThat(PurgeSignature.verify(token, sig, "POST", path, body, now)).as("seed %d", seed).isTrue();
      assertThat(PurgeSignature.verify(token + "x", sig, "POST", path, body, now)).isFalse();
      assertThat(PurgeSignature.verify(token, sig, "PUT", path, body, now)).isFalse();
      assertThat(PurgeSignature.verify(token, sig, "POST", path + "/", body, now)).isFalse();
      assertThat(PurgeSignature.verify(token, sig, "POST", path, body.replace("=2", "=1"), now)).isFalse();
      assertThat(PurgeSignature.verify(token, sig, "POST", path, body, t + 301 + random.nextInt(10_000))).isFalse();
      assertThat(PurgeSignature.verify(token, sig.replace("t=" + t, "t=" + (t + 1)), "POST", path, body, now)).isFalse();
    }
    assertThat(PurgeSignature.verify("tok", null, "POST", "/p", "", 0)).isFalse();
    assertThat(PurgeSignature.verify("tok", "t=1,v1=zz", "POST", "/p", "", 1)).isFalse();
  }
}
