package io.safedefaults.microapp.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Vault's Kubernetes auth method ({@code POST /v1/auth/<path>/login} with {@code role} and
 * {@code jwt}): the sidecar proves who it is with the service-account token the kubelet projects
 * into its container alone (audience {@code vault}, ten minutes, rotated by the kubelet), and gets a
 * Vault token back. Vault checks the JWT with the API server's TokenReview and binds the role to
 * service-account names and namespaces. Nothing long-lived is stored anywhere: a copy of the
 * app's Secrets opens nothing without a pod the cluster vouches for.
 *
 * <p>The Vault token is kept until four fifths of its lease have passed (at least 10 s), then a new
 * login is made with the projected token as it is on disk then; a refused call drops it at once.
 */
final class VaultKubernetesLogin implements VaultToken {
  private static final Duration MIN_REUSE = Duration.ofSeconds(10);
  private final KmsHttp http;
  private final URI endpoint;
  private final String authPath;
  private final String role;
  private final Path jwtFile;
  private final Clock clock;
  private String token;
  private Instant renewAt = Instant.MIN;

  VaultKubernetesLogin(KmsHttp http, URI endpoint, String authPath, String role, Path jwtFile, Clock clock) {
    this.http = http;
    this.endpoint = endpoint;
    this.authPath = authPath;
    this.role = role;
    this.jwtFile = jwtFile;
    this.clock = clock;
  }

  @Override
  public synchronized String get() throws GeneralSecurityException {
    Instant now = clock.instant();
    if (token != null && now.isBefore(renewAt)) {
      return token;
    }
    String jwt;
    try {
      jwt = Files.readString(jwtFile).strip();
    } catch (IOException e) {
      throw new KmsUnavailableException("cannot read the projected service-account token " + jwtFile
          + " for the Vault login (" + e.getClass().getSimpleName() + "); the pod must mount it");
    }
    if (!VaultToken.printable(jwt)) {
      throw new KmsUnavailableException("the projected service-account token " + jwtFile + " is empty");
    }
    ObjectNode req = KmsHttp.JSON.createObjectNode().put("role", role).put("jwt", jwt);
    KmsHttp.Reply reply = http.post(endpoint.resolve("/v1/auth/" + authPath + "/login"),
        Map.of("Content-Type", "application/json"), KmsHttp.JSON.writeValueAsBytesUnchecked(req));
    if (reply.status() != 200) {
      // 400 (no such role), 403 (the JWT is not of a bound service account, or the review failed)
      throw new GeneralSecurityException(http.what() + " refused the Kubernetes login at auth/" + authPath + " as role "
          + role + ": HTTP " + reply.status() + KmsHttp.errorName(reply.body()));
    }
    JsonNode auth = reply.body().path("auth");
    String issued = auth.path("client_token").asText("");
    if (!VaultToken.printable(issued)) {
      throw new GeneralSecurityException(http.what() + " answered the Kubernetes login without auth.client_token");
    }
    long lease = Math.max(0, auth.path("lease_duration").asLong(0));
    Duration reuse = Duration.ofSeconds(lease * 4 / 5);
    renewAt = now.plus(reuse.compareTo(MIN_REUSE) < 0 ? MIN_REUSE : reuse);
    token = issued;
    return token;
  }

  @Override
  public synchronized void refused() {
    token = null;
  }

  @Override
  public boolean renewable() {
    return true;
  }
}
