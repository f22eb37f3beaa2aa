package io.safedefaults.microapp.sidecar.session;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Session cookies survive key rotation, expire on time and never outgrow a browser's limit. */
class CookieJarTest {
  static final long NOW = 1_800_000_000L;
  static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC);

  static SessionData session(List<String> groups, long iat, long exp) {
    return new SessionData(1, "sid", "sub-1", "alice", "alice@acme.com", true, groups, false, iat, exp);
  }

  static String value(String setCookie) {
    return setCookie.substring(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));
  }

  @Test
  void rotatingInANewPrimaryKeyKeepsExistingSessionsReadable() throws Exception {
    AeadConfig.register();
    KeysetHandle old = KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM);
    CookieJar before = new CookieJar(CookieSealer.fromKeysetJson(
        TinkJsonProtoKeysetFormat.serializeKeyset(old, InsecureSecretKeyAccess.get()), "old"), 3600, CLOCK);
    String cookie = value(before.sessionCookie(session(List.of("food-team"), NOW, NOW + 3600)));

    KeysetHandle.Builder b = KeysetHandle.newBuilder(old);
    b.addEntry(KeysetHandle.generateEntryFromParameters(PredefinedAeadParameters.AES256_GCM).withRandomId().makePrimary());
    KeysetHandle rotated = b.build();
    CookieJar after = new CookieJar(CookieSealer.fromKeysetJson(
        TinkJsonProtoKeysetFormat.serializeKeyset(rotated, InsecureSecretKeyAccess.get()), "rotated"), 3600, CLOCK);

    assertThat(after.readSession(cookie)).isNotNull().extracting(SessionData::subject).isEqualTo("sub-1");
    // and a keyset without the old key (after the old key is retired) no longer accepts it
    KeysetHandle fresh = KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM);
    CookieJar retired = new CookieJar(CookieSealer.fromKeysetJson(
        TinkJsonProtoKeysetFormat.serializeKeyset(fresh, InsecureSecretKeyAccess.get()), "fresh"), 3600, CLOCK);
    assertThat(retired.readSession(cookie)).isNull();
  }

  @Test
  void sessionsEndAtTheirExpiryAndAtTheConfiguredTtl() throws Exception {
    AeadConfig.register();
    String keyset = TinkJsonProtoKeysetFormat.serializeKeyset(
        KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM), InsecureSecretKeyAccess.get());
    CookieJar jar = new CookieJar(CookieSealer.fromKeysetJson(keyset, "k"), 3600, CLOCK);
    assertThat(jar.readSession(value(jar.sessionCookie(session(List.of(), NOW - 10, NOW - 1))))).isNull();
    // a cookie minted under a longer TTL dies once the TTL is shortened
    CookieJar shorter = new CookieJar(CookieSealer.fromKeysetJson(keyset, "k"), 600, CLOCK);
    String eightHours = value(jar.sessionCookie(session(List.of(), NOW - 1200, NOW + 20000)));
    assertThat(jar.readSession(eightHours)).isNotNull();
    assertThat(shorter.readSession(eightHours)).isNull();
  }

  @Test
  void hugeGroupListsAreTrimmedSoTheCookieStaysUnderFourKilobytes() throws Exception {
    AeadConfig.register();
    String keyset = TinkJsonProtoKeysetFormat.serializeKeyset(
        KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM), InsecureSecretKeyAccess.get());
    CookieJar jar = new CookieJar(CookieSealer.fromKeysetJson(keyset, "k"), 3600, CLOCK);
    List<String> groups = new ArrayList<>(IntStream.range(0, 400).mapToObj(i -> "group-with-a-long-name-" + i).toList());
    String header = jar.sessionCookie(session(groups, NOW, NOW + 3600));
    assertThat(header.length()).isLessThanOrEqualTo(CookieJar.MAX_COOKIE_BYTES);
    SessionData read = jar.readSession(value(header));
    assertThat(read.groups()).isNotEmpty().startsWith("group-with-a-long-name-0");
  }
}
