package io.safedefaults.microapp.auth;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.KmsUnavailableException;
import io.safedefaults.microapp.kms.WrappedSessionKeys.Part;
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
 *
 * <p>With a session KMS key a plaintext keyset is wrapped on the next reconcile (the salt too, byte
 * for byte, so hashed user ids stay the same), and a rotation unwraps, rotates and wraps again. A
 * keyset wrapped under a key the operator no longer uses cannot be opened by anyone: it is replaced
 * by fresh keys, which signs that app's users out once.
 */
public final class SessionKeyRotation {
  public static final String ROTATED_AT = "safedefaults.io/session-key-rotated-at";
  public static final String RETIRED = "safedefaults.io/session-keys-retired";
  /** Sessions last at most 24 h (CEL rule on sessionTTL); an hour more for clocks and reloads. */
  static final Duration KEEP_RETIRED = Duration.ofHours(25);

  private SessionKeyRotation() {}

  /** A Secret to write, and the audit action that names why. */
  public record Next(Secret secret, String action) {}

  /** Without a session KMS key: keys stored as they are. */
  public static Optional<Secret> next(Secret actual, Instant now, Duration period) {
    return next(actual, now, period, null, null, null).map(Next::secret);
  }

  /**
   * @param wrapping the session KMS key (--kms-session-key-uri), or null
   * @param namespace the app's namespace and {@code app} its name: the wrapped parts are bound to them
   * @return the Secret to write, or empty when nothing is due (or the KMS cannot be asked now: the
   *     next reconcile tries again)
   */
  public static Optional<Next> next(Secret actual, Instant now, Duration period, SessionKeyWrapping wrapping,
      String namespace, String app) {
    Map<String, String> data = new LinkedHashMap<>(actual.getData() == null ? Map.of() : actual.getData());
    boolean plain = data.containsKey(SidecarConfig.KEYSET_FILE);
    boolean wrapped = data.containsKey(Part.KEYSET.file);
    if (!plain && !wrapped) {
      return Optional.empty(); // not ours to repair here: the dependent recreates a broken Secret's content
    }
    Map<String, String> annotations = new LinkedHashMap<>(
        actual.getMetadata().getAnnotations() == null ? Map.of() : actual.getMetadata().getAnnotations());
    String wrappedBy = annotations.get(Kms.WRAPPED_BY);
    if (!plain && (wrapping == null || !wrapping.keyName().equals(wrappedBy))) {
      // Wrapped under a key the operator no longer uses (the flag was dropped or names another key):
      // nothing can open it, so the app's users sign in once more with fresh keys.
      return fresh(actual, annotations, now, wrapping, namespace, app);
    }
    boolean changed = false;
    String action = "session-keys.rotated";
    if (plain && !data.containsKey(SidecarConfig.USER_ID_SALT_FILE)) {
      // Secrets from before the salt existed: the sidecar salted user ids with the keyset file, so
      // the keyset as it is now keeps every hashed id in the audit log the same across rotations.
      data.put(SidecarConfig.USER_ID_SALT_FILE, data.get(SidecarConfig.KEYSET_FILE));
      changed = true;
    }
    boolean wrapNow = plain && wrapping != null;
    if (wrapNow) {
      action = "session-keys.wrapped";
      changed = true;
    }

    Instant rotatedAt = parse(annotations.get(ROTATED_AT))
        .orElseGet(() -> parse(actual.getMetadata().getCreationTimestamp()).orElse(now));
    TreeMap<Integer, Instant> retired = retired(annotations.get(RETIRED));
    boolean rotationDue = !now.isBefore(rotatedAt.plus(period));
    boolean removalDue = retired.values().stream().anyMatch(t -> !now.isBefore(t.plus(KEEP_RETIRED)));
    if (!rotationDue && !removalDue && !changed) {
      return Optional.empty(); // the usual reconcile: the keyset is not even decoded, the KMS not asked
    }
    String keysetJson;
    String salt;
    try {
      if (plain) {
        keysetJson = new String(Base64.getDecoder().decode(data.get(SidecarConfig.KEYSET_FILE)), StandardCharsets.UTF_8);
        salt = new String(Base64.getDecoder().decode(data.get(SidecarConfig.USER_ID_SALT_FILE)), StandardCharsets.UTF_8);
      } else {
        keysetJson = new String(wrapping.open(Base64.getDecoder().decode(data.get(Part.KEYSET.file)), Part.KEYSET,
            namespace, app), StandardCharsets.UTF_8);
        salt = new String(wrapping.open(Base64.getDecoder().decode(data.getOrDefault(Part.USER_ID_SALT.file, "")),
            Part.USER_ID_SALT, namespace, app), StandardCharsets.UTF_8);
      }
    } catch (KmsUnavailableException e) {
      return Optional.empty(); // the KMS cannot be asked now; the next reconcile tries again
    } catch (GeneralSecurityException | RuntimeException e) {
      // refused by the KMS (made for another app, or damaged): no sidecar can open it either
      return wrapped ? fresh(actual, annotations, now, wrapping, namespace, app) : Optional.empty();
    }
    try {
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
        keysetJson = TinkJsonProtoKeysetFormat.serializeKeyset(builder.build(), InsecureSecretKeyAccess.get());
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
    if (wrapping != null) {
      annotations.put(Kms.WRAPPED_BY, wrapping.keyName());
    }
    Map<String, String> material;
    try {
      material = SessionKeys.material(keysetJson, salt, wrapping, namespace, app);
    } catch (IllegalStateException e) {
      return Optional.empty(); // the KMS refused to wrap: the plaintext stays until it can
    }
    return Optional.of(new Next(new SecretBuilder(actual)
        .editMetadata().withAnnotations(annotations).endMetadata()
        .withData(material)
        .withStringData(null)
        .build(), action));
  }

  /** New keys (and a new salt) in place of ones nothing can open. */
  private static Optional<Next> fresh(Secret actual, Map<String, String> annotations, Instant now,
      SessionKeyWrapping wrapping, String namespace, String app) {
    Map<String, String> material;
    try {
      material = SessionKeys.material(SessionKeys.newKeyset(), SessionKeys.newSalt(), wrapping, namespace, app);
    } catch (IllegalStateException e) {
      return Optional.empty();
    }
    annotations.remove(RETIRED);
    annotations.remove(Kms.WRAPPED_BY);
    annotations.put(ROTATED_AT, now.toString());
    if (wrapping != null) {
      annotations.put(Kms.WRAPPED_BY, wrapping.keyName());
    }
    return Optional.of(new Next(new SecretBuilder(actual)
        .editMetadata().withAnnotations(annotations).endMetadata()
        .withData(material)
        .withStringData(null)
        .build(), "session-keys.replaced"));
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
