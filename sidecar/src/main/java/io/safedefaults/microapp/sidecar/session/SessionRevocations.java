package io.safedefaults.microapp.sidecar.session;

import java.util.concurrent.CompletionStage;

/**
 * Sessions ended before their cookie expires. The session cookie is self-contained (sealed with
 * Tink), so without this a copy of it taken before sign-out would keep working until its
 * Max-Age; with it, signing out ends the session on the server side too, the way an
 * oauth2-proxy user with a session store expects.
 */
public interface SessionRevocations extends AutoCloseable {
  /** Ends the session {@code sessionId}; remembered until {@code expiresAtEpochSecond}, when the cookie dies anyway. */
  CompletionStage<Void> revoke(String sessionId, long expiresAtEpochSecond);

  CompletionStage<Boolean> isRevoked(String sessionId);

  @Override
  default void close() {}
}
