package io.safedefaults.microapp.kms;

import java.security.GeneralSecurityException;

/**
 * The KMS could not be asked (no connection, timeout, throttling, a 5xx, credentials that cannot be
 * read): worth retrying, unlike a refusal (wrong key, wrong associated data, access denied), which
 * is a plain {@link GeneralSecurityException}. Messages name the KMS and the status, never key
 * material, tokens or the request body.
 */
public final class KmsUnavailableException extends GeneralSecurityException {
  public KmsUnavailableException(String message) {
    super(message);
  }
}
