package io.safedefaults.microapp.sidecar.session;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Revoked sessions in this replica's memory, each kept only until its cookie would have expired
 * (at most the session TTL, 24 h). Signing out takes a signed-in session and, for a new one, a
 * sign-in at the identity provider, so the set is bounded by real sign-outs; expired entries are
 * dropped as new ones arrive. Ids are stored hashed.
 */
public final class LocalSessionRevocations implements SessionRevocations {
  private final ConcurrentHashMap<String, Long> revoked = new ConcurrentHashMap<>();
  private final Clock clock;
  private int sinceCleanup;

  public LocalSessionRevocations(Clock clock) {
    this.clock = clock;
  }

  @Override
  public CompletionStage<Void> revoke(String sessionId, long expiresAtEpochSecond) {
    remember(sessionId, expiresAtEpochSecond);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Boolean> isRevoked(String sessionId) {
    return CompletableFuture.completedFuture(revokedHere(sessionId));
  }

  /** Records a revocation in this replica only. */
  public void remember(String sessionId, long expiresAtEpochSecond) {
    rememberKey(key(sessionId), expiresAtEpochSecond);
  }

  /** As {@link #remember}, for an id already hashed with {@link #key}. */
  void rememberKey(String key, long expiresAtEpochSecond) {
    long now = now();
    if (expiresAtEpochSecond <= now) {
      return;
    }
    revoked.put(key, expiresAtEpochSecond);
    synchronized (this) {
      if (++sinceCleanup >= 1024) {
        sinceCleanup = 0;
        revoked.values().removeIf(exp -> exp <= now);
      }
    }
  }

  public boolean revokedHere(String sessionId) {
    return revokedHereKey(key(sessionId));
  }

  /** As {@link #revokedHere}, for an id already hashed with {@link #key}. */
  boolean revokedHereKey(String key) {
    Long exp = revoked.get(key);
    return exp != null && exp > now();
  }

  public int size() {
    return revoked.size();
  }

  /** The stored form of a session id: SHA-256, base64url, so neither memory nor Redis holds the id itself. */
  static String key(String sessionId) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(sessionId.getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private long now() {
    return clock.millis() / 1000;
  }
}
