package io.safedefaults.microapp.sidecar.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.AdminPaths;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.Oidc;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.PathQuota;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.ProviderCa;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.RateLimit;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.Redis;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.Session;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.Visibility;
import io.safedefaults.microapp.sidecar.http.Cidr;
import io.safedefaults.microapp.sidecar.http.PathPattern;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads and validates the configuration file. Strict on purpose (checklist 1-5): an unknown or
 * misspelt field, a missing required field or an unsafe value stops the sidecar at start with one
 * line naming the field, instead of running with a security setting silently ignored.
 */
public final class ConfigLoader {
  static final List<String> DEFAULT_MFA_AMR = List.of("mfa", "otp", "hwk", "swk", "fpt");
  private static final Pattern DOMAIN =
      Pattern.compile("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$");

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
      .build();

  private ConfigLoader() {}

  public static SidecarConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException("configuration file " + file + " does not exist; pass --config with the mounted path");
    } catch (IOException e) {
      throw new ConfigException("configuration file " + file + " cannot be read: " + e.getMessage());
    }
    return parse(text);
  }

  public static SidecarConfig parse(String json) {
    SidecarConfig raw;
    try {
      raw = JSON.readValue(json, SidecarConfig.class);
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException("unknown field '" + path(e) + "'; known fields there: "
          + e.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", ")));
    } catch (JsonMappingException e) {
      String where = path(e);
      throw new ConfigException((where.isEmpty() ? "configuration" : "field '" + where + "'") + ": "
          + firstLine(e.getOriginalMessage()));
    } catch (JsonProcessingException e) {
      throw new ConfigException("configuration is not valid JSON: " + firstLine(e.getOriginalMessage()));
    }
    if (raw == null) {
      throw new ConfigException("configuration is empty");
    }
    return validate(raw);
  }

  static SidecarConfig validate(SidecarConfig c) {
    if (c.version() != 1) {
      throw new ConfigException("field 'version' must be 1 (this sidecar reads version 1), got " + c.version());
    }
    port("listenPort", c.listenPort());
    port("adminPort", c.adminPort());
    if (c.listenPort() == c.adminPort()) {
      throw new ConfigException("fields 'listenPort' and 'adminPort' must differ; metrics must never share the app's port");
    }
    URI upstream = uri("upstream", required("upstream", c.upstream()));
    if (!"http".equals(upstream.getScheme()) || upstream.getHost() == null || upstream.getPort() < 1
        || !(upstream.getRawPath() == null || upstream.getRawPath().isEmpty() || "/".equals(upstream.getRawPath()))) {
      throw new ConfigException("field 'upstream' must look like http://127.0.0.1:8080 (scheme, host and port only), got "
          + c.upstream());
    }
    if (c.visibility() == null) {
      throw new ConfigException("field 'visibility' is required: private, organization or public");
    }
    if (c.publicUrl() != null) {
      URI pub = uri("publicUrl", c.publicUrl());
      boolean local = pub.getHost() != null && isLoopbackName(pub.getHost());
      if (!("https".equals(pub.getScheme()) || ("http".equals(pub.getScheme()) && local)) || pub.getHost() == null
          || pub.getRawQuery() != null || pub.getRawFragment() != null
          || !(pub.getRawPath() == null || pub.getRawPath().isEmpty() || "/".equals(pub.getRawPath()))) {
        throw new ConfigException("field 'publicUrl' must be https://<host> without path, query or fragment, got "
            + c.publicUrl());
      }
    }
    Oidc oidc = validateOidc(c.oidc(), c.visibility());
    List<String> groups = list(c.allowedGroups());
    for (String g : groups) {
      if (g == null || g.isBlank()) {
        throw new ConfigException("field 'allowedGroups' must not contain empty entries");
      }
    }
    List<String> domains = list(c.allowedEmailDomains());
    for (String d : domains) {
      if (d == null || !DOMAIN.matcher(d).matches()) {
        throw new ConfigException("field 'allowedEmailDomains': '" + d
            + "' is not a lowercase domain such as acme.com (no @, wildcards or upper case)");
      }
    }
    AdminPaths admin = validateAdminPaths(c.adminPaths());
    Session session = validateSession(c.session());
    RateLimit limits = validateRateLimit(c.rateLimit());
    List<String> cidrs = list(c.trustedProxyCidrs());
    for (int i = 0; i < cidrs.size(); i++) {
      try {
        Cidr.parse(cidrs.get(i));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("field 'trustedProxyCidrs[" + i + "]': " + e.getMessage());
      }
    }
    String hsts = c.hsts() == null ? "max-age=31536000; includeSubDomains" : c.hsts();
    if (!hsts.startsWith("max-age=") || hasControl(hsts)) {
      throw new ConfigException("field 'hsts' must be a Strict-Transport-Security value such as "
          + "'max-age=31536000; includeSubDomains'");
    }
    String csp = c.csp() == null ? SidecarConfig.DEFAULT_CSP : c.csp();
    if (csp.isBlank() || hasControl(csp)) {
      throw new ConfigException("field 'csp' must be a one-line Content-Security-Policy value");
    }
    Redis redis = validateRedis(c.redis(), oidc.clientId());
    SidecarConfig.Purge purge = c.purge();
    if (purge != null) {
      plainPath("purge.path", purge.path());
      required("purge.tokenFile", purge.tokenFile());
    }
    SidecarConfig.UserData userData = c.userData();
    if (userData != null) {
      if (userData.exportPath() == null && userData.deletePath() == null) {
        throw new ConfigException("field 'userData' needs exportPath or deletePath");
      }
      if (userData.exportPath() != null) {
        plainPath("userData.exportPath", userData.exportPath());
      }
      if (userData.deletePath() != null) {
        plainPath("userData.deletePath", userData.deletePath());
      }
      int perHour = userData.perUserPerHour() == 0 ? 5 : userData.perUserPerHour();
      positive("userData.perUserPerHour", perHour);
      userData = new SidecarConfig.UserData(userData.exportPath(), userData.deletePath(), perHour);
    }
    return new SidecarConfig(c.version(), c.listenPort(), c.adminPort(), c.upstream(), c.visibility(), c.publicUrl(),
        oidc, List.copyOf(groups), List.copyOf(domains), admin, session, limits, List.copyOf(cidrs), hsts, csp, redis,
        c.userIdSaltFile(), purge, userData);
  }

  private static Oidc validateOidc(Oidc o, Visibility visibility) {
    if (o == null) {
      throw new ConfigException("field 'oidc' is required (issuer and clientId at least)");
    }
    if (o.issuer() == null) {
      if (visibility != Visibility.PUBLIC) {
        throw new ConfigException("field 'oidc.issuer' is required when visibility is " + visibility.name().toLowerCase(Locale.ROOT));
      }
    } else {
      URI issuer = uri("oidc.issuer", o.issuer());
      boolean local = issuer.getHost() != null && isLoopbackName(issuer.getHost());
      if (!("https".equals(issuer.getScheme()) || ("http".equals(issuer.getScheme()) && local))
          || issuer.getRawQuery() != null || issuer.getRawFragment() != null) {
        throw new ConfigException("field 'oidc.issuer' must be an https:// URL without query or fragment, got " + o.issuer());
      }
    }
    String clientId = required("oidc.clientId", o.clientId());
    String redirectPath = o.redirectPath() == null ? "/oauth2/callback" : o.redirectPath();
    if (!redirectPath.startsWith("/") || redirectPath.startsWith("//") || redirectPath.contains("?")
        || redirectPath.contains("#") || redirectPath.contains("%") || redirectPath.contains("..")) {
      throw new ConfigException("field 'oidc.redirectPath' must be a plain absolute path such as /oauth2/callback");
    }
    List<String> scopes = o.scopes() == null ? List.of("openid", "email", "profile") : List.copyOf(o.scopes());
    if (!scopes.contains("openid")) {
      throw new ConfigException("field 'oidc.scopes' must include openid, or the provider returns no ID token");
    }
    for (String s : scopes) {
      if (s == null || !s.matches("[\\x21\\x23-\\x5B\\x5D-\\x7E]+")) {
        throw new ConfigException("field 'oidc.scopes': '" + s + "' is not a valid scope token");
      }
    }
    String groupsClaim = o.groupsClaim() == null ? "groups" : o.groupsClaim();
    if (groupsClaim.isBlank()) {
      throw new ConfigException("field 'oidc.groupsClaim' must not be empty; the default is groups");
    }
    // The issuer is kept exactly as written: OIDC Discovery 4.3 and token validation compare it byte for byte.
    return new Oidc(o.issuer(), clientId, redirectPath, scopes, groupsClaim, o.clientSecretFile(),
        providerCa(o.caFile()));
  }

  /**
   * Reads oidc.caFile once, here, so a bundle that could never verify the provider stops the start
   * with one line instead of failing at the first sign-in (checklist 1, 5).
   */
  private static ProviderCa providerCa(ProviderCa ca) {
    if (ca == null) {
      return null;
    }
    if (ca.file() == null || ca.file().isBlank()) {
      throw new ConfigException("field 'oidc.caFile' must be the path of a PEM file with the provider's CA"
          + " certificates, or be left out to trust the JVM's default CAs");
    }
    try {
      return new ProviderCa(ca.file(), CaBundle.read(Path.of(ca.file()), Instant.now()));
    } catch (CaBundle.Invalid e) {
      throw new ConfigException("field 'oidc.caFile': " + ca.file() + " " + e.getMessage());
    } catch (java.nio.file.InvalidPathException e) {
      throw new ConfigException("field 'oidc.caFile' is not a file path: " + ca.file());
    }
  }

  private static AdminPaths validateAdminPaths(AdminPaths a) {
    if (a == null) {
      return new AdminPaths(List.of(), true, DEFAULT_MFA_AMR, List.of());
    }
    List<String> paths = list(a.paths());
    for (int i = 0; i < paths.size(); i++) {
      try {
        PathPattern.compile(paths.get(i));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("field 'adminPaths.paths[" + i + "]': " + e.getMessage());
      }
    }
    List<String> amr = a.amr() == null ? DEFAULT_MFA_AMR : List.copyOf(a.amr());
    List<String> acr = list(a.acr());
    if (a.required() && amr.isEmpty() && acr.isEmpty()) {
      throw new ConfigException("field 'adminPaths.amr' is empty and no 'adminPaths.acr' is set, so no sign-in could "
          + "ever prove MFA; list amr values such as mfa, otp, hwk");
    }
    return new AdminPaths(List.copyOf(paths), a.required(), amr, List.copyOf(acr));
  }

  private static Session validateSession(Session s) {
    if (s == null) {
      throw new ConfigException("field 'session' is required (ttlSeconds and keysetFile)");
    }
    if (s.ttlSeconds() < 300 || s.ttlSeconds() > 7 * 86400) {
      throw new ConfigException("field 'session.ttlSeconds' must be between 300 (5m) and 604800 (7d), got " + s.ttlSeconds());
    }
    if (s.rememberMe()) {
      throw new ConfigException("field 'session.rememberMe' must be false: sessions end with the browser or the TTL, "
          + "whichever comes first, and this sidecar has no long-lived sign-in");
    }
    required("session.keysetFile", s.keysetFile());
    SidecarConfig.SessionKms kms = s.kms() == null ? null : validateSessionKms(s.kms());
    if (s.keysetReloadSeconds() == null) {
      return new Session(s.ttlSeconds(), s.rememberMe(), s.keysetFile(), 30, kms);
    }
    if (s.keysetReloadSeconds() < 1 || s.keysetReloadSeconds() > 3600) {
      throw new ConfigException("field 'session.keysetReloadSeconds' must be between 1 and 3600 (or absent for 30), got "
          + s.keysetReloadSeconds());
    }
    return new Session(s.ttlSeconds(), s.rememberMe(), s.keysetFile(), s.keysetReloadSeconds(), kms);
  }

  /** Checked here as the KMS module will use it, each mistake named by its field. */
  private static SidecarConfig.SessionKms validateSessionKms(SidecarConfig.SessionKms k) {
    required("session.kms.uri", k.uri());
    io.safedefaults.microapp.kms.KmsUri uri;
    try {
      uri = io.safedefaults.microapp.kms.KmsUri.parse(k.uri(), k.endpoint());
    } catch (IllegalArgumentException e) {
      throw new ConfigException("field 'session.kms." + (e.getMessage().startsWith("--kms-endpoint") ? "endpoint" : "uri")
          + "': " + e.getMessage().replaceFirst("^--kms-(uri|endpoint) ", ""));
    }
    boolean vault = uri.kind() == io.safedefaults.microapp.kms.KmsUri.Kind.VAULT_TRANSIT;
    if (vault ? k.vault() == null || k.aws() != null : k.aws() == null || k.vault() != null) {
      throw new ConfigException("field 'session.kms." + (vault ? "vault" : "aws") + "' is required, and alone, for a "
          + (vault ? "vault-transit:// key (authPath, role and tokenFile)" : "aws-kms:// key (roleArn and tokenFile)"));
    }
    if (vault) {
      required("session.kms.vault.tokenFile", k.vault().tokenFile());
      try {
        new io.safedefaults.microapp.kms.Kms.VaultLogin(k.vault().authPath(), k.vault().role(), Path.of(k.vault().tokenFile()));
      } catch (IllegalArgumentException e) {
        String field = e.getMessage().contains("auth path") ? "authPath" : "role";
        throw new ConfigException("field 'session.kms.vault." + field + "': " + e.getMessage());
      }
    } else {
      required("session.kms.aws.tokenFile", k.aws().tokenFile());
      try {
        io.safedefaults.microapp.kms.Kms.roleArn(k.aws().roleArn(), "the value");
      } catch (IllegalArgumentException e) {
        throw new ConfigException("field 'session.kms.aws.roleArn': " + e.getMessage());
      }
      if (k.aws().stsEndpoint() != null) {
        try {
          io.safedefaults.microapp.kms.Kms.baseUrl(k.aws().stsEndpoint(), "the value");
        } catch (IllegalArgumentException e) {
          throw new ConfigException("field 'session.kms.aws.stsEndpoint': " + e.getMessage());
        }
      }
    }
    if (k.app() == null || !dnsName(k.app().namespace()) || !dnsName(k.app().name())) {
      throw new ConfigException("field 'session.kms.app' must name the app's namespace and name (DNS labels): the "
          + "wrapped keyset is bound to them");
    }
    if (k.caFile() != null && !Files.isReadable(Path.of(k.caFile()))) {
      throw new ConfigException("field 'session.kms.caFile': " + k.caFile() + " cannot be read; mount the CA bundle there");
    }
    return k;
  }

  private static boolean dnsName(String s) {
    return s != null && s.length() <= 253 && s.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  }

  private static RateLimit validateRateLimit(RateLimit r) {
    if (r == null) {
      return new RateLimit(60, 100, 10, List.of());
    }
    positive("rateLimit.perUserPerMinute", r.perUserPerMinute());
    // Both 0: no per-IP limit in the sidecar (the operator's choice when the ingress controller's
    // addresses are unknown, so every request would seem to come from one client).
    if (r.perIpPerMinute() != 0 || r.perIpBurstPerSecond() != 0) {
      positive("rateLimit.perIpPerMinute", r.perIpPerMinute());
      positive("rateLimit.perIpBurstPerSecond", r.perIpBurstPerSecond());
    }
    List<PathQuota> quotas = list(r.perPathQuotas());
    for (int i = 0; i < quotas.size(); i++) {
      PathQuota q = quotas.get(i);
      String field = "rateLimit.perPathQuotas[" + i + "]";
      if (q == null) {
        throw new ConfigException("field '" + field + "' must not be null");
      }
      try {
        PathPattern.compile(required(field + ".path", q.path()));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("field '" + field + ".path': " + e.getMessage());
      }
      positive(field + ".perUserPerMinute", q.perUserPerMinute());
    }
    return new RateLimit(r.perUserPerMinute(), r.perIpPerMinute(), r.perIpBurstPerSecond(), List.copyOf(quotas));
  }

  private static Redis validateRedis(Redis r, String clientId) {
    if (r == null) {
      return null;
    }
    URI u = uri("redis.url", required("redis.url", r.url()));
    if (!("redis".equals(u.getScheme()) || "rediss".equals(u.getScheme())) || u.getHost() == null
        || u.getRawUserInfo() != null) {
      throw new ConfigException("field 'redis.url' must be redis://host:port or rediss://host:port without credentials "
          + "(put the password in redis.passwordFile)");
    }
    String prefix = r.keyPrefix() == null ? clientId : r.keyPrefix();
    if (prefix.isBlank() || hasControl(prefix)) {
      throw new ConfigException("field 'redis.keyPrefix' must be a non-empty single-line string");
    }
    return new Redis(r.url(), r.passwordFile(), prefix);
  }

  /** A single concrete path (no wildcards), written normalised. */
  private static void plainPath(String field, String path) {
    required(field, path);
    if (path.contains("*")) {
      throw new ConfigException("field '" + field + "' must be one concrete path without wildcards, got " + path);
    }
    try {
      PathPattern.compile(path);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("field '" + field + "': " + e.getMessage());
    }
  }

  static boolean isLoopbackName(String host) {
    return "localhost".equalsIgnoreCase(host) || host.startsWith("127.") || "[::1]".equals(host) || "::1".equals(host);
  }

  private static void port(String field, int port) {
    if (port < 1 || port > 65535) {
      throw new ConfigException("field '" + field + "' must be a port between 1 and 65535, got " + port);
    }
  }

  private static void positive(String field, int value) {
    if (value < 1) {
      throw new ConfigException("field '" + field + "' must be at least 1, got " + value);
    }
  }

  private static String required(String field, String value) {
    if (value == null || value.isBlank()) {
      throw new ConfigException("field '" + field + "' is required");
    }
    return value;
  }

  private static URI uri(String field, String value) {
    try {
      return new URI(value);
    } catch (Exception e) {
      throw new ConfigException("field '" + field + "' is not a valid URL: " + value);
    }
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }

  private static boolean hasControl(String s) {
    return s.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f);
  }

  private static String path(JsonMappingException e) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        if (b.length() > 0) {
          b.append('.');
        }
        b.append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.toString();
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "invalid value";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
