package io.safedefaults.microapp.kms;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The KMS key that wraps the sealing keyset, as the {@code --kms-uri} flag names it, parsed
 * strictly here and nowhere else; every error names the flag and the form that works.
 *
 * <ul>
 *   <li>{@code aws-kms://arn:aws:kms:<region>:<account>:key/<key-id>} (or {@code alias/<name>}; the
 *       aws-cn and aws-us-gov partitions too). The endpoint is {@code https://kms.<region>.amazonaws.com}
 *       unless {@code --kms-endpoint} names another (a VPC endpoint, or a test double).
 *   <li>{@code vault-transit://<host>[:<port>]/<mount>/keys/<key>}, for example
 *       {@code vault-transit://vault.example.com:8200/transit/keys/microapp}: HTTPS to that host
 *       unless {@code --kms-endpoint} names another base URL.
 * </ul>
 *
 * @param name the flag's value as given (names no credential; recorded on the Secret)
 * @param kind which KMS
 * @param key the AWS key ARN, or the Vault Transit key name
 * @param region the AWS region (empty for Vault)
 * @param mount the Vault Transit mount path without slashes at either end (empty for AWS)
 * @param endpoint the base URL requests go to
 */
public record KmsUri(String name, Kind kind, String key, String region, String mount, URI endpoint) {
  public static final String FLAG = "--kms-uri";
  public static final String ENDPOINT_FLAG = "--kms-endpoint";

  public enum Kind { AWS_KMS, VAULT_TRANSIT }

  private static final Pattern AWS_ARN = Pattern.compile(
      "arn:(aws|aws-cn|aws-us-gov):kms:([a-z]{2}(?:-[a-z]+)+-[0-9]):([0-9]{12}):"
          + "(key/[A-Za-z0-9-]{1,128}|alias/[A-Za-z0-9/_-]{1,250})");
  private static final Pattern HOST = Pattern.compile(
      "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_.-]{1,128}");
  private static final String AWS_FORM = "aws-kms://arn:aws:kms:<region>:<account>:key/<key-id>";
  private static final String VAULT_FORM = "vault-transit://<host>[:<port>]/<mount>/keys/<key>";

  /**
   * @param value the flag's value
   * @param endpointOverride the {@code --kms-endpoint} value, or null/blank for the KMS's own
   */
  public static KmsUri parse(String value, String endpointOverride) {
    if (value == null || value.isBlank()) {
      throw bad("is empty", "name the key as " + AWS_FORM + " or " + VAULT_FORM);
    }
    if (!value.equals(value.strip()) || value.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw bad("contains spaces or characters outside printable ASCII", "name the key as " + AWS_FORM + " or " + VAULT_FORM);
    }
    Optional<URI> override = endpoint(endpointOverride);
    if (value.startsWith("aws-kms://")) {
      String arn = value.substring("aws-kms://".length());
      Matcher m = AWS_ARN.matcher(arn);
      if (!m.matches()) {
        throw bad("is not an AWS KMS key ARN", "use " + AWS_FORM + " (or alias/<name> for the key)");
      }
      String region = m.group(2);
      String suffix = m.group(1).equals("aws-cn") ? "amazonaws.com.cn" : "amazonaws.com";
      return new KmsUri(value, Kind.AWS_KMS, arn, region, "",
          override.orElse(URI.create("https://kms." + region + "." + suffix)));
    }
    if (value.startsWith("vault-transit://")) {
      String rest = value.substring("vault-transit://".length());
      int slash = rest.indexOf('/');
      if (slash <= 0) {
        throw bad("names no Vault host", "use " + VAULT_FORM);
      }
      String authority = rest.substring(0, slash);
      String host = authority;
      int port = -1;
      int colon = authority.lastIndexOf(':');
      if (colon >= 0) {
        host = authority.substring(0, colon);
        String p = authority.substring(colon + 1);
        if (!p.matches("[0-9]{1,5}") || Integer.parseInt(p) < 1 || Integer.parseInt(p) > 65535) {
          throw bad("has no valid port after the host", "use " + VAULT_FORM + " with a port between 1 and 65535");
        }
        port = Integer.parseInt(p);
      }
      if (!HOST.matcher(host).matches() || host.length() > 253) {
        throw bad("names no valid Vault host name", "use " + VAULT_FORM + " with a DNS name or IPv4 address as host");
      }
      List<String> path = List.of(rest.substring(slash + 1).split("/", -1));
      int keys = path.size() - 2;
      if (path.size() < 3 || !path.get(keys).equals("keys")
          || path.stream().anyMatch(s -> !SEGMENT.matcher(s).matches() || s.equals(".") || s.equals(".."))) {
        throw bad("is not a Transit key path",
            "use " + VAULT_FORM + ", e.g. vault-transit://vault.example.com:8200/transit/keys/microapp");
      }
      String mount = String.join("/", path.subList(0, keys));
      URI base = URI.create("https://" + host.toLowerCase(Locale.ROOT) + (port > 0 ? ":" + port : ""));
      return new KmsUri(value, Kind.VAULT_TRANSIT, path.get(path.size() - 1), "", mount, override.orElse(base));
    }
    throw bad("has an unknown scheme", "name the key as " + AWS_FORM + " or " + VAULT_FORM);
  }

  private static Optional<URI> endpoint(String value) {
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(endpointUrl(value, ENDPOINT_FLAG));
  }

  /** A base URL {@code https://host[:port]} (http:// for a local test server), named {@code what} in errors. */
  static URI endpointUrl(String value, String what) {
    URI uri;
    try {
      uri = new URI(value);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException(what + " is not a URL; use https://<host>[:<port>]");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null || uri.getRawUserInfo() != null
        || uri.getRawQuery() != null || uri.getRawFragment() != null
        || !(uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))) {
      throw new IllegalArgumentException(what + " must be a base URL https://<host>[:<port>] without a path, "
          + "user, query or fragment (http:// only for a KMS on the same host or a test double)");
    }
    return URI.create(scheme + "://" + uri.getRawAuthority());
  }

  private static IllegalArgumentException bad(String what, String fix) {
    // The value itself is not echoed: a mistyped flag may hold a token pasted into the wrong place.
    return new IllegalArgumentException(FLAG + " " + what + "; " + fix);
  }

}
