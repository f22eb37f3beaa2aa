package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.http.PathPattern;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The app's purge endpoint deletes old data for everyone (checklist 8), so only the purge CronJob
 * may call it: {@code Authorization: Bearer <token>} with the token the operator generated for this
 * app. Signed-in people, administrators included, get 403 there.
 */
final class PurgeGate {
  private final PathPattern path;
  private final byte[] token;

  PurgeGate(String path, String token) {
    this.path = PathPattern.compile(path);
    this.token = token.getBytes(StandardCharsets.US_ASCII);
  }

  boolean isPurgePath(String normalisedPath) {
    return path.matches(normalisedPath);
  }

  boolean authorised(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    return MessageDigest.isEqual(token, authorization.substring(7).trim().getBytes(StandardCharsets.US_ASCII));
  }
}
