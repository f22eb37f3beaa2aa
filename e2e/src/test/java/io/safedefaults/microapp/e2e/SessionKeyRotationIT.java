package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * Session keys rotate under a running pod: the operator adds a new primary key to the app's
 * {@code <app>-session-keys} Secret when the current one is due, the kubelet refreshes the mounted
 * file, and the sidecar in the same pod (no restart) seals new sessions with the new key while
 * sessions sealed with the old one keep working; once the old key is removed, those sessions end.
 * A Tink ciphertext names its key (byte 0 = 1, bytes 1-4 = key id), so the test reads from each
 * session cookie which key sealed it. "Due" is made by ageing the Secret's rotation annotations,
 * exactly what thirty days would do.
 */
@Order(9)
class SessionKeyRotationIT extends E2ETestBase {
  static final ObjectMapper JSON = new ObjectMapper();
  /** The kubelet's periodic pod sync refreshes Secret volumes (every 15 s on the test node, a minute by default), then the sidecar's 30 s check. */
  static final Duration PICKED_UP = Duration.ofSeconds(240);
  static String ns;
  static String base;

  @BeforeAll
  static void app() {
    ns = where2eatBehindIngress("keys");
    base = "https://" + appHost("where2eat", ns);
  }

  /** A fresh sign-in; its session cookie's value. */
  static String signIn() {
    SignIn browser = new SignIn(ingress());
    assertThat(browser.open(base + "/", "ann-sub", SignInIT.ANN).status()).isEqualTo(200);
    return browser.cookies(appHost("where2eat", ns)).get("__Host-microapp-session");
  }

  static long keyIdOf(String cookie) {
    byte[] ciphertext = Base64.getUrlDecoder().decode(cookie);
    assertThat(ciphertext[0]).as("Tink output prefix (TINK variant)").isEqualTo((byte) 1);
    return Integer.toUnsignedLong(ByteBuffer.wrap(ciphertext, 1, 4).getInt());
  }

  static int status(String cookie) {
    return ingress().get(base + "/", "Accept: text/html", "Cookie: __Host-microapp-session=" + cookie).status();
  }

  static Secret keys() {
    return client().secrets().inNamespace(ns).withName("where2eat-session-keys").get();
  }

  static long primaryKeyId(Secret s) throws Exception {
    String keyset = new String(Base64.getDecoder().decode(s.getData().get("session-keyset.json")), StandardCharsets.UTF_8);
    return JSON.readTree(keyset).path("primaryKeyId").asLong();
  }

  @Test
  void theRunningSidecarFollowsARotationWithoutARestart() throws Exception {
    Pod pod = runningPod(ns, "where2eat");
    String before = signIn();
    long firstKey = primaryKeyId(keys());
    assertThat(keyIdOf(before)).as("a session is sealed with the primary key").isEqualTo(firstKey);

    // thirty-one days later: the operator adds a new primary key and keeps the old one
    client().secrets().inNamespace(ns).withName("where2eat-session-keys").edit(s -> {
      s.getMetadata().getAnnotations().put("safedefaults.io/session-key-rotated-at", Instant.now().minus(Duration.ofDays(31)).toString());
      return s;
    });
    long secondKey = await("the operator rotates").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .until(() -> primaryKeyId(keys()), k -> k != firstKey);

    // the sidecar in the running pod picks the file up: new sessions use the new key ...
    await("new sessions sealed with the new key").atMost(PICKED_UP).pollInterval(Duration.ofSeconds(5))
        .until(() -> keyIdOf(signIn()) == secondKey);
    // ... and the session sealed before the rotation still opens
    assertThat(status(before)).as("the session from before the rotation").isEqualTo(200);
    String after = signIn();

    // twenty-six hours later no session can be that old: the old key goes, and its sessions with it
    client().secrets().inNamespace(ns).withName("where2eat-session-keys").edit(s -> {
      String retired = s.getMetadata().getAnnotations().get("safedefaults.io/session-keys-retired");
      s.getMetadata().getAnnotations().put("safedefaults.io/session-keys-retired",
          retired.replaceAll("=[^,]+", "=" + Instant.now().minus(Duration.ofHours(26))));
      return s;
    });
    await("the old key removed from the Secret").atMost(Duration.ofSeconds(60)).until(() ->
        !new String(Base64.getDecoder().decode(keys().getData().get("session-keyset.json")), StandardCharsets.UTF_8)
            .contains("\"keyId\":" + firstKey));
    await("the old session refused once the sidecar has the new file").atMost(PICKED_UP).pollInterval(Duration.ofSeconds(5))
        .until(() -> status(before) == 302);
    assertThat(status(after)).as("the session sealed with the new key").isEqualTo(200);

    Pod same = runningPod(ns, "where2eat");
    assertThat(same.getMetadata().getUid()).as("the same pod throughout").isEqualTo(pod.getMetadata().getUid());
    assertThat(same.getStatus().getContainerStatuses()).allSatisfy(cs -> assertThat(cs.getRestartCount())
        .as("restarts of %s", cs.getName()).isZero());
  }
}
