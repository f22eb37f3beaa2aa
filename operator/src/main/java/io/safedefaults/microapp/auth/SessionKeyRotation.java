package io.safedefaults.microapp.auth;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Rotates an app's session keyset (checklist 3) the way sealing keys rotate: when the primary key
 * is older than the rotation period a new primary is added and the old key stays, so every cookie
 * it sealed still opens; once the old key has not been primary for longer than the longest
 * possible session (24 h) plus an hour it is removed. The sidecar re-reads the keyset while
 * running, so no pod restarts. Times live in annotations on the Secret; a pure function of the
 * Secret and the clock, so the reconciler writes only when something is due.
 */
public final class SessionKeyRotation {
  public static final String ROTATED_AT = "safedefaults.io/session-key-rotated-at";
  public static final String RETIRED = "safedefaults.io/session-keys-retired";
  /** Sessions last at most 24 h (CEL rule on sessionTTL); an hour more for clocks and reloads. */
  static final Duration KEEP_RETIRED = Duration.ofHours(25);

  private SessionKeyRotation() {}

  /** @return the Secret to write, or empty when nothing is due */
  public static Optional<Secret> next(Secret actual, Instant now, Duration period) {
    Map<String, String> data = new LinkedHashMap<>(actual.getData() == null ? Map.of() : actual.getData());
    String encoded = data.get(SidecarConfig.KEYSET_FILE);
    if (encoded == null) {
      return Optional.empty(); // not ours to repair here: the dependent recreates a broken Secret's content
    }
    Map<String, String> annotations = new LinkedHashMap<>(
        actual.getMetadata().getAnnotations() == null ? Map.of() : actual.getMetadata().getAnnotations());
    boolean changed = false;

    if (!data.containsKey(SidecarConfig.USER_ID_SALT_FILE)) {
      // Secrets from before the salt existed: the sidecar salted user ids with the keyset file, so
      // the keyset as it is now keeps every hashed id in the audit log the same across rotations.
      data.put(SidecarConfig.USER_ID_SALT_FILE, encoded);
      changed = true;
    }

    Instant rotatedAt = parse(annotations.get(ROTATED_AT))
        .orElseGet(() -> parse(actual.getMetadata().getCreationTimestamp()).orElse(now));
    TreeMap<Integer, Instant> retired = retired(annotations.get(RETIRED));
    boolean rotationDue = !now.isBefore(rotatedAt.plus(period));
    boolean removalDue = retired.values().stream().anyMatch(t -> !now.isBefore(t.plus(KEEP_RETIRED)));
    if (!rotationDue && !removalDue && !changed) {
      return Optional.empty(); // the usual reconcile: the keyset is not even decoded
    }
    try {
      String keysetJson = new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
      KeysetHandle keys = TinkJsonProtoKeysetFormat.parseKeyset(keysetJson, InsecureSecretKeyAccess.get());
      KeysetHandle.Builder builder = KeysetHandle.newBuilder(keys);
      boolean keysChanged = false;
      if (rotationDue) {
        retired.put(keys.getPrimary().getId(), now);
        builder.addEntry(KeysetHandle.generateEntryFromParameters(PredefinedAeadParameters.AES256_GCM)
            .withRandomId().makePrimary());
        annotations.put(ROTATED_AT, now.toString());
        keysChanged = true;
      }
      for (int i = keys.size() - 1; i >= 0; i--) {
        KeysetHandle.Entry e = keys.getAt(i);
        Instant since = retired.get(e.getId());
        if (!e.isPrimary() && since != null && !now.isBefore(since.plus(KEEP_RETIRED))) {
          builder.deleteAt(i);
          retired.remove(e.getId());
          keysChanged = true;
        }
      }
      retired.keySet().removeIf(id -> !contains(keys, id));
      if (keysChanged) {
        data.put(SidecarConfig.KEYSET_FILE, Base64.getEncoder().encodeToString(
            TinkJsonProtoKeysetFormat.serializeKeyset(builder.build(), InsecureSecretKeyAccess.get())
                .getBytes(StandardCharsets.UTF_8)));
        if (retired.isEmpty()) {
          annotations.remove(RETIRED);
        } else {
          annotations.put(RETIRED, format(retired));
        }
        changed = true;
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      return Optional.empty(); // an unreadable keyset is left alone; the sidecar refuses to start and says why
    }
    if (!changed) {
      return Optional.empty();
    }
    return Optional.of(new SecretBuilder(actual)
        .editMetadata().withAnnotations(annotations).endMetadata()
        .withData(data)
        .withStringData(null)
        .build());
  }

  private static boolean contains(KeysetHandle keys, int id) {
    for (int i = 0; i < keys.size(); i++) {
      if (keys.getAt(i).getId() == id) {
        return true;
      }
    }
    return false;
  }

  /** "keyId=instant,keyId=instant"; anything unreadable counts as not retired (kept). */
  static TreeMap<Integer, Instant> retired(String value) {
    TreeMap<Integer, Instant> m = new TreeMap<>();
    if (value == null || value.isBlank()) {
      return m;
    }
    for (String part : value.split(",")) {
      int eq = part.indexOf('=');
      if (eq <= 0) {
        continue;
      }
      try {
        int id = Integer.parseUnsignedInt(part.substring(0, eq).trim());
        parse(part.substring(eq + 1).trim()).ifPresent(t -> m.put(id, t));
      } catch (NumberFormatException e) {
        // ignored: the key is kept, which is the safe side
      }
    }
    return m;
  }

  private static String format(Map<Integer, Instant> retired) {
    StringBuilder b = new StringBuilder();
    retired.forEach((id, t) -> b.append(b.length() == 0 ? "" : ",").append(Integer.toUnsignedString(id)).append('=').append(t));
    return b.toString();
  }

  private static Optional<Instant> parse(String s) {
    try {
      return s == null ? Optional.empty() : Optional.of(Instant.parse(s));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }
}
