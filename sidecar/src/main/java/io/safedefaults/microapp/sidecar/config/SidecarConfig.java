package io.safedefaults.microapp.sidecar.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The sidecar's configuration file, as the operator writes it (operator class
 * io.safedefaults.microapp.auth.SidecarConfig). Every record field is a JSON field; unknown fields are
 * rejected by {@link ConfigLoader} so a typo in a security setting can never be silently ignored.
 * Fields marked optional were added by the sidecar and have safe defaults.
 */
public record SidecarConfig(
    int version,
    int listenPort,
    int adminPort,
    String upstream,
    Visibility visibility,
    String publicUrl,
    Oidc oidc,
    List<String> allowedGroups,
    List<String> allowedEmailDomains,
    AdminPaths adminPaths,
    Session session,
    RateLimit rateLimit,
    List<String> trustedProxyCidrs,
    String hsts,
    /** optional: Content-Security-Policy sent with every response; widen it here, never in code. */
    String csp,
    /** optional: shared rate-limit buckets across replicas. */
    Redis redis,
    /** optional: file with the per-deployment salt for hashed user ids in logs. */
    String userIdSaltFile,
    /** optional (operator, checklist 8): the app's purge endpoint, callable only with the purge job's token. */
    Purge purge,
    /** optional (operator, checklist 8): the app's own-data export and delete endpoints. */
    UserData userData) {

  public static final String DEFAULT_CSP = "default-src 'self'; base-uri 'self'; object-src 'none'; "
      + "frame-ancestors 'none'; form-action 'self'";

  public enum Visibility { PRIVATE, ORGANIZATION, PUBLIC }

  public record Oidc(
      String issuer,
      String clientId,
      String redirectPath,
      List<String> scopes,
      String groupsClaim,
      /** optional: file holding the client secret; absent means a public client (PKCE only). */
      String clientSecretFile,
      /**
       * optional: PEM bundle of the CAs that sign the provider's TLS certificates. When set, the
       * provider's endpoints are trusted through these CAs only, instead of the JVM's trust store.
       */
      ProviderCa caFile) {}

  /**
   * {@code oidc.caFile}: written in the JSON as the file's path; {@link ConfigLoader} reads the file
   * at start and fills in its certificates, so a bad bundle stops the start and is never read again.
   */
  public record ProviderCa(String file, List<X509Certificate> certificates) {
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static ProviderCa path(String file) {
      return new ProviderCa(file, List.of());
    }
  }

  public record AdminPaths(
      List<String> paths,
      boolean required,
      List<String> amr,
      /** optional: acr values that prove MFA; also sent as acr_values when a browser steps up. */
      List<String> acr) {}

  /**
   * @param keysetReloadSeconds how often the keyset file is checked for a rotated keyset (absent:
   *     30 s); a Secret volume changes in place, so rotation needs no restart
   */
  public record Session(long ttlSeconds, boolean rememberMe, String keysetFile, Integer keysetReloadSeconds, SessionKms kms) {
    public Session(long ttlSeconds, boolean rememberMe, String keysetFile, Integer keysetReloadSeconds) {
      this(ttlSeconds, rememberMe, keysetFile, keysetReloadSeconds, null);
    }
  }

  /**
   * Optional: the session keyset and the user-id salt files are wrapped under this KMS key (the
   * operator's --kms-session-key-uri), opened at start and at each reload with the token projected
   * into this container: a Vault Kubernetes-auth login, or an AWS IAM role assumed with it.
   *
   * @param uri the key: vault-transit://host[:port]/mount/keys/key or aws-kms://arn:aws:kms:...
   * @param endpoint optional base URL instead of the one the key implies
   * @param caFile optional PEM bundle the KMS's certificate must chain to
   * @param vault for a Vault key: {@code authPath}, {@code role}, {@code tokenFile} (the projected token)
   * @param aws for an AWS key: {@code roleArn}, {@code tokenFile}, optional {@code stsEndpoint}
   * @param app the app the wrapped files belong to: {@code namespace} and {@code name}
   */
  public record SessionKms(String uri, String endpoint, String caFile, VaultLogin vault, AwsRole aws, AppRef app) {}

  public record VaultLogin(String authPath, String role, String tokenFile) {}

  public record AwsRole(String roleArn, String tokenFile, String stsEndpoint) {}

  public record AppRef(String namespace, String name) {}

  public record RateLimit(
      int perUserPerMinute,
      int perIpPerMinute,
      int perIpBurstPerSecond,
      /** optional: tighter per-user budgets for expensive paths such as exports. */
      List<PathQuota> perPathQuotas) {}

  public record PathQuota(String path, int perUserPerMinute) {}

  /**
   * @param path the app's purge path; only requests with {@code Authorization: Bearer <token>} pass
   * @param tokenFile file holding the token the purge CronJob also holds
   */
  public record Purge(String path, String tokenFile) {}

  /**
   * Served by the sidecar at /.well-known/microapp/export (GET) and /.well-known/microapp/delete
   * (POST or DELETE), and at the app's own paths: signed in, MFA, audited, perUserPerHour each.
   */
  public record UserData(String exportPath, String deletePath, int perUserPerHour) {}

  public record Redis(
      /** redis://host:port or rediss://host:port (TLS); no credentials in the URL. */
      String url,
      /** optional: file holding the Redis password. */
      String passwordFile,
      /** optional: key prefix, so several apps can share one Redis; defaults to the client id. */
      String keyPrefix) {}
}
