package io.safedefaults.microapp.sidecar.session;

import com.google.crypto.tink.Aead;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.KmsUri;
import io.safedefaults.microapp.kms.WrappedSessionKeys;
import io.safedefaults.microapp.kms.WrappedSessionKeys.Part;
import io.safedefaults.microapp.sidecar.config.ConfigException;
import io.safedefaults.microapp.sidecar.config.SidecarConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.Map;

/**
 * Reads the app's session key files: as they are, or, with {@code session.kms}, wrapped under the
 * session KMS key and opened with the token the kubelet projects into this container alone: a
 * Vault Kubernetes-auth login, or an AWS IAM role assumed with it (AssumeRoleWithWebIdentity). The KMS is asked only when a file's bytes change: at start and
 * after the operator rotates the keyset.
 */
public final class SessionKeyFiles {
  /** Files stored as they are (no {@code session.kms}). */
  public static final SessionKeyFiles PLAIN = new SessionKeyFiles(null, null, null);

  private final Aead kek;
  private final SidecarConfig.AppRef app;
  private final String keyName;

  private SessionKeyFiles(Aead kek, SidecarConfig.AppRef app, String keyName) {
    this.kek = kek;
    this.app = app;
    this.keyName = keyName;
  }

  public static SessionKeyFiles of(SidecarConfig.Session session, Clock clock) {
    SidecarConfig.SessionKms k = session.kms();
    if (k == null) {
      return PLAIN;
    }
    Path ca = k.caFile() == null ? null : Path.of(k.caFile());
    if (k.vault() != null) {
      Kms kms = new Kms(KmsUri.parse(k.uri(), k.endpoint()), null,
          new Kms.VaultLogin(k.vault().authPath(), k.vault().role(), Path.of(k.vault().tokenFile())), ca);
      return new SessionKeyFiles(kms.kek(Map.of(), clock), k.app(), k.uri());
    }
    // AWS: only the assumed role's credentials, never whatever the process environment holds
    Map<String, String> env = new java.util.HashMap<>();
    env.put("AWS_ROLE_ARN", k.aws().roleArn());
    env.put("AWS_WEB_IDENTITY_TOKEN_FILE", k.aws().tokenFile());
    env.put("AWS_ROLE_SESSION_NAME", sessionName(k.app()));
    if (k.aws().stsEndpoint() != null) {
      env.put("AWS_ENDPOINT_URL_STS", k.aws().stsEndpoint());
    }
    Kms kms = new Kms(KmsUri.parse(k.uri(), k.endpoint()), null, null, ca);
    return new SessionKeyFiles(kms.kek(env, clock), k.app(), k.uri());
  }

  /** CloudTrail names the app: microapp-<namespace>-<name>, cut to STS's 64 characters. */
  static String sessionName(SidecarConfig.AppRef app) {
    String name = "microapp-" + app.namespace() + "-" + app.name();
    return name.length() <= 64 ? name : name.substring(0, 64);
  }

  public boolean wrapped() {
    return kek != null;
  }

  /** The file's bytes; {@code field} names the configuration field in the error. */
  static byte[] read(Path file, String what, String field) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(what + " file " + file + " does not exist; mount the app's session-keys Secret there "
          + "(field '" + field + "')");
    } catch (IOException e) {
      throw new ConfigException(what + " file " + file + " cannot be read: " + e.getMessage());
    }
  }

  /** The plaintext of a file's bytes: the bytes themselves, or what the KMS opens for this app. */
  public byte[] open(byte[] raw, Part part) throws GeneralSecurityException {
    return kek == null ? raw : WrappedSessionKeys.open(raw, kek, part, app.namespace(), app.name());
  }

  /** {@link #open}, failing at start with what to check. */
  public byte[] openAtStart(Path file, Part part, String field) {
    return openAtStart(file, read(file, part == Part.KEYSET ? "session keyset" : "user id salt", field), part);
  }

  /** {@link #openAtStart(Path, Part, String)} of bytes already read from {@code file}. */
  byte[] openAtStart(Path file, byte[] raw, Part part) {
    try {
      return open(raw, part);
    } catch (GeneralSecurityException e) {
      // the message names the KMS, the HTTP status and Vault's error: never a token or key material
      throw new ConfigException((part == Part.KEYSET ? "session keyset " : "user id salt ") + file
          + " cannot be opened with the session KMS key " + keyName + " (field 'session.kms'): " + e.getMessage());
    }
  }
}
