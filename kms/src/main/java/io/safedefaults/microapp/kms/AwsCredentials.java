package io.safedefaults.microapp.kms;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The simple cases of the AWS default credential chain, read afresh for every request (a mounted
 * file may be rotated): the JVM system properties {@code aws.accessKeyId}, {@code aws.secretAccessKey}
 * and {@code aws.sessionToken} (first, as in the AWS SDK for Java), the environment
 * ({@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY},
 * optional {@code AWS_SESSION_TOKEN}), then the shared credentials file
 * ({@code AWS_SHARED_CREDENTIALS_FILE}, else {@code ~/.aws/credentials}) with the profile
 * {@code AWS_PROFILE} (else {@code default}). Between the environment's keys and the file, as in
 * the SDK: a web identity ({@code AWS_ROLE_ARN} and {@code AWS_WEB_IDENTITY_TOKEN_FILE}, what EKS
 * injects for IAM roles for service accounts), assumed through STS ({@link AwsWebIdentity}). Not
 * supported: instance metadata, SSO, credential_process; messages say so.
 */
final class AwsCredentials {
  record Credentials(String accessKeyId, String secretAccessKey, String sessionToken) {
    @Override
    public String toString() {
      return "Credentials[" + accessKeyId + "]"; // never the secret or the token
    }
  }

  private final Map<String, String> env;
  private final AwsWebIdentity webIdentity;

  AwsCredentials(Map<String, String> env) {
    this(env, "us-east-1", java.time.Clock.systemUTC());
  }

  /** @param region where STS is asked for a web identity's credentials (the KMS key's region) */
  AwsCredentials(Map<String, String> env, String region, java.time.Clock clock) {
    this.env = Map.copyOf(env);
    this.webIdentity = AwsWebIdentity.configured(env) ? new AwsWebIdentity(env, region, clock) : null;
  }

  Credentials resolve() throws KmsUnavailableException {
    String propId = blankToNull(System.getProperty("aws.accessKeyId"));
    String propSecret = blankToNull(System.getProperty("aws.secretAccessKey"));
    if (propId != null && propSecret != null) {
      return new Credentials(propId, propSecret, blankToNull(System.getProperty("aws.sessionToken")));
    }
    String id = blankToNull(env.get("AWS_ACCESS_KEY_ID"));
    String secret = blankToNull(env.get("AWS_SECRET_ACCESS_KEY"));
    if (id != null && secret != null) {
      return new Credentials(id, secret, blankToNull(env.get("AWS_SESSION_TOKEN")));
    }
    if (webIdentity != null) {
      return webIdentity.get();
    }
    Path file = env.get("AWS_SHARED_CREDENTIALS_FILE") != null ? Path.of(env.get("AWS_SHARED_CREDENTIALS_FILE"))
        : Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".aws", "credentials");
    String profile = env.getOrDefault("AWS_PROFILE", "default");
    if (Files.isReadable(file)) {
      Map<String, String> p = profile(file, profile);
      if (p.get("aws_access_key_id") != null && p.get("aws_secret_access_key") != null) {
        return new Credentials(p.get("aws_access_key_id"), p.get("aws_secret_access_key"), p.get("aws_session_token"));
      }
      throw new KmsUnavailableException("AWS credentials file " + file + " has no aws_access_key_id and "
          + "aws_secret_access_key in profile [" + profile + "]");
    }
    throw new KmsUnavailableException("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or mount a "
        + "credentials file and set AWS_SHARED_CREDENTIALS_FILE, or set AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (IAM roles for "
        + "service accounts); instance metadata is not read");
  }

  private static Map<String, String> profile(Path file, String profile) throws KmsUnavailableException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new KmsUnavailableException("cannot read the AWS credentials file " + file + ": " + e.getClass().getSimpleName());
    }
    Map<String, String> values = new HashMap<>();
    String section = null;
    for (String raw : lines) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
        continue;
      }
      if (line.startsWith("[") && line.endsWith("]")) {
        section = line.substring(1, line.length() - 1).strip();
        continue;
      }
      int eq = line.indexOf('=');
      if (profile.equals(section) && eq > 0) {
        values.put(line.substring(0, eq).strip().toLowerCase(java.util.Locale.ROOT), blankToNull(line.substring(eq + 1).strip()));
      }
    }
    return values;
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }
}
