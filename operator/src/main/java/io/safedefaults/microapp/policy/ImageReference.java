package io.safedefaults.microapp.policy;

import io.safedefaults.microapp.api.MicroAppSpec;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An image reference split the way registries and scanners name images (go-containerregistry's
 * rules, which Trivy Operator uses for its reports): a first path segment is a registry only when it
 * has a '.' or a ':' or is "localhost"; Docker Hub is {@code index.docker.io} and its one-segment
 * repositories live under {@code library/}; no tag and no digest means {@code latest}.
 *
 * @param digest {@code sha256:<64 hex>} or null
 */
public record ImageReference(String registry, String repository, String tag, String digest) {
  private static final Pattern REFERENCE = Pattern.compile(MicroAppSpec.IMAGE_REFERENCE);
  public static final String DOCKER_HUB = "index.docker.io";

  /** The reference of a spec.image the CRD accepted; empty for anything its grammar refuses. */
  public static Optional<ImageReference> parse(String image) {
    if (image == null || !REFERENCE.matcher(image).matches()) {
      return Optional.empty();
    }
    String rest = image;
    String digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.substring(at + 1);
      rest = rest.substring(0, at);
    }
    String tag = null;
    int colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = rest.substring(colon + 1);
      rest = rest.substring(0, colon);
    }
    String registry = DOCKER_HUB;
    int slash = rest.indexOf('/');
    if (slash > 0) {
      String first = rest.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        registry = first.toLowerCase(Locale.ROOT);
        rest = rest.substring(slash + 1);
      }
    }
    if (registry.equals("docker.io") || registry.equals("registry-1.docker.io")) {
      registry = DOCKER_HUB;
    }
    if (registry.equals(DOCKER_HUB) && !rest.contains("/")) {
      rest = "library/" + rest;
    }
    return Optional.of(new ImageReference(registry, rest, tag == null && digest == null ? "latest" : tag, digest));
  }

  /** The same repository at this digest (no tag). */
  public ImageReference withDigest(String byDigest) {
    return new ImageReference(registry, repository, null, byDigest);
  }

  /** The same image by content: registry/repository@digest. */
  public String pinned(String byDigest) {
    String host = registry.equals(DOCKER_HUB) ? "docker.io" : registry;
    return host + "/" + repository + "@" + byDigest;
  }

  /** For messages: registry/repository with the tag or digest the app asked for. */
  @Override
  public String toString() {
    return registry + "/" + repository + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
  }
}
