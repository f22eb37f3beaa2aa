package io.safedefaults.microapp.sidecar.http;

import java.util.List;

/**
 * Who is asking, after a session cookie or a bearer token was verified. Only what authorisation and
 * the app need; never a token.
 *
 * @param emailVerified the provider vouched for the address (email_verified=true)
 * @param mfa the sign-in proved a second factor (amr or acr, see MfaRequirement)
 * @param expiresAt epoch seconds after which this identity must not be used
 */
public record Identity(String subject, String username, String email, boolean emailVerified, List<String> groups,
    boolean mfa, long expiresAt) {
  public Identity {
    groups = groups == null ? List.of() : List.copyOf(groups);
  }
}
