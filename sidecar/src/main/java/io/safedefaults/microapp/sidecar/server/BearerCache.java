package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.http.Identity;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Remembers bearer tokens that already passed full verification, keyed by their SHA-256, for at
 * most five minutes and never past their exp. API clients reuse one token for many calls; checking
 * its signature once keeps the sidecar's added latency small. Failures are never cached.
 */
final class BearerCache {
  private static final int MAX = 10_000;
  private static final long MAX_AGE_SECONDS = 300;

  private record Entry(Identity identity, long cachedAt) {}

  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

  Identity get(String token, long now) {
    Entry e = entries.get(key(token));
    if (e == null) {
      return null;
    }
    if (now >= e.identity().expiresAt() || now - e.cachedAt() >= MAX_AGE_SECONDS) {
      entries.remove(key(token));
      return null;
    }
    return e.identity();
  }

  void put(String token, Identity identity, long now) {
    if (entries.size() >= MAX) {
      entries.clear(); // crude but bounded; a full cache only costs re-verification
    }
    entries.put(key(token), new Entry(identity, now));
  }

  private static String key(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
