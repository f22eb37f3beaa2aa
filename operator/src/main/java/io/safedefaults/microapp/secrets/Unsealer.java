package io.safedefaults.microapp.secrets;

import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppSpec;
import io.safedefaults.microapp.api.MicroAppStatus.SealedValueStatus;
import io.safedefaults.microapp.secrets.SealedValueDecryptor.UnsealException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/** Opens every sealed value of an app, recording which key sealed each and what failed. */
public final class Unsealer {
  /** The name the OIDC client secret is sealed under. */
  public static final String CLIENT_SECRET = "auth.clientSecret";

  private Unsealer() {}

  /** Result of opening an app's values. Plaintext lives only here and in the Secret built from it. */
  public record Unsealed(Map<String, byte[]> appValues, byte[] clientSecret, List<SealedValueStatus> statuses,
      List<Failure> failures) {

    public boolean declaresAny() {
      return !statuses.isEmpty();
    }

    public boolean ok() {
      return failures.isEmpty();
    }
  }

  /** One value that did not open; {@code message} starts with the field path. */
  public record Failure(String field, String reason, String message, long keyId) {}

  public static Unsealed open(MicroApp app, SealedValueDecryptor decryptor) {
    // Whether the current key sealed a value is unknown while the keys are missing.
    // A lambda, not decryptor::open: an app with no sealed values never needs the decryptor.
    return walk(app, (text, ns, name, key) -> decryptor.open(text, ns, name, key),
        keyId -> decryptor.hasKeys() ? keyId != null && keyId == decryptor.primaryKeyId() : null);
  }

  /**
   * Checklist 6 without the cluster's private keys (the offline {@code check} command): which values
   * are declared and whether each is well-formed, failing a malformed one exactly as {@link #open}
   * would. Nothing is opened, so no value is known: the result holds no plaintext, and which key
   * sealed a value is not judged current or old.
   */
  public static Unsealed inspect(MicroApp app) {
    return walk(app, (text, ns, name, key) -> {
      SealedValueDecryptor.parse(text);
      return null;
    }, keyId -> null);
  }

  private interface Opener {
    byte[] open(String sealedText, String namespace, String app, String key) throws UnsealException;
  }

  private static Unsealed walk(MicroApp app, Opener opener, Function<Long, Boolean> currentKey) {
    String ns = app.getMetadata().getNamespace();
    String name = app.getMetadata().getName();
    Map<String, byte[]> values = new TreeMap<>();
    List<SealedValueStatus> statuses = new ArrayList<>();
    List<Failure> failures = new ArrayList<>();
    byte[] clientSecret = null;

    MicroAppSpec spec = app.getSpec() == null ? new MicroAppSpec() : app.getSpec();
    Map<String, String> sealed = spec.getSecrets() == null || spec.getSecrets().getSealed() == null
        ? Map.of() : new TreeMap<>(spec.getSecrets().getSealed());
    for (var e : sealed.entrySet()) {
      byte[] v = openOne(opener, currentKey, e.getValue(), ns, name, e.getKey(), "spec.secrets.sealed." + e.getKey(),
          statuses, failures);
      if (v != null) {
        values.put(e.getKey(), v);
      }
    }
    var auth = spec.getAuth();
    if (auth != null && auth.getClientSecret() != null && auth.getClientSecret().getSealed() != null) {
      clientSecret = openOne(opener, currentKey, auth.getClientSecret().getSealed(), ns, name, CLIENT_SECRET,
          "spec.auth.clientSecret.sealed", statuses, failures);
    }
    return new Unsealed(values, clientSecret, List.copyOf(statuses), List.copyOf(failures));
  }

  private static byte[] openOne(Opener opener, Function<Long, Boolean> currentKey, String text, String ns, String app,
      String key, String field, List<SealedValueStatus> statuses, List<Failure> failures) {
    Long keyId = null;
    try {
      keyId = SealedValue.parse(text).keyId();
    } catch (IllegalArgumentException e) {
      // reported as Malformed by the opener below
    }
    statuses.add(new SealedValueStatus(key, keyId, currentKey.apply(keyId)));
    try {
      return opener.open(text, ns, app, key);
    } catch (UnsealException e) {
      failures.add(new Failure(field, e.reason(), field + " " + e.getMessage(), e.keyId()));
      return null;
    }
  }

}
