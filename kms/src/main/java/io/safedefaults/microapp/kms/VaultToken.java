package io.safedefaults.microapp.kms;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the Vault Transit client gets its token: a file written by Vault Agent (the operator,
 * {@code --kms-vault-token-file}), or a Kubernetes-auth login with the pod's projected
 * service-account token (the sidecar: {@link VaultKubernetesLogin}).
 */
interface VaultToken {
  /** The token for the next call; read or obtained anew as needed. */
  String get() throws KmsUnavailableException, java.security.GeneralSecurityException;

  /** Vault refused the token (403): a cached one is dropped so the next {@link #get} obtains another. */
  default void refused() {}

  /** Whether a refused call is worth one retry with a new token. */
  default boolean renewable() {
    return false;
  }

  /** A token file, read at every call so that a renewed file is picked up. */
  record FromFile(Path file, String flag) implements VaultToken {
    @Override
    public String get() throws KmsUnavailableException {
      String token;
      try {
        token = Files.readString(file).strip();
      } catch (IOException e) {
        throw new KmsUnavailableException("cannot read the Vault token file " + file + " (" + flag + "): "
            + e.getClass().getSimpleName());
      }
      if (!printable(token)) {
        throw new KmsUnavailableException("the Vault token file " + file + " (" + flag + ") holds no token");
      }
      return token;
    }
  }

  /** A token is one run of printable ASCII without spaces; anything else is not sent as a header. */
  static boolean printable(String token) {
    return token != null && !token.isEmpty() && token.chars().allMatch(c -> c >= 0x21 && c <= 0x7e);
  }
}
