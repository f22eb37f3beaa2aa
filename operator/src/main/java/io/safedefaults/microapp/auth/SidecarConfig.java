package io.safedefaults.microapp.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kms.WrappedSessionKeys;
import io.safedefaults.microapp.kube.ContentHash;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.kube.SidecarRuntime;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The auth sidecar's configuration (checklists 1-5), mounted read-only into the sidecar as
 * {@value #FILE} in {@value #DIR}. The sidecar reads it with its ConfigLoader (sidecar/README.md) and
 * refuses to start on a file it cannot validate.
 */
public final class SidecarConfig {
  public static final String DIR = "/etc/microapp-sidecar";
  public static final String FILE = "config.json";
  public static final String KEYS_DIR = "/etc/microapp-sidecar/keys";
  public static final String KEYSET_FILE = "session-keyset.json";
  /** Salt for hashed user ids, kept apart from the keyset so ids survive key rotation. */
  public static final String USER_ID_SALT_FILE = "user-id-salt";
  public static final String CLIENT_SECRET_DIR = "/etc/microapp-sidecar/oidc";
  public static final String CLIENT_SECRET_FILE = "client-secret";
  /**
   * The provider's CA bundle (--oidc-ca-file), a second key of the same ConfigMap, so it is
   * mounted beside {@value #FILE} in {@value #DIR} and named by oidc.caFile.
   */
  public static final String OIDC_CA_FILE = "oidc-ca.pem";
  /** The session KMS's CA bundle, in the ConfigMap beside the configuration (--kms-ca-file's content). */
  public static final String KMS_CA_FILE = "kms-ca.pem";
  /**
   * Where the sidecar container alone gets its projected service-account token for the Vault
   * login (audience: the Vault role's, ten minutes, rotated by the kubelet). The app container
   * never mounts it, and the API server does not accept it (not its audience).
   */
  public static final String KMS_TOKEN_DIR = "/var/run/secrets/safedefaults.io/kms";
  public static final String KMS_TOKEN_FILE = "token";
  public static final String CALLBACK_PATH = "/oauth2/callback";
  /**
   * amr values that prove a second factor (RFC 8176). The sidecar has the same list as its default;
   * SidecarContractTest keeps the two equal.
   */
  public static final List<String> MFA_AMR = List.of("mfa", "otp", "hwk", "swk", "fpt");

  /** Checklist 5: the Strict-Transport-Security the sidecar sends, the same as its default (SidecarContractTest). */
  public static final String HSTS = "max-age=31536000; includeSubDomains";

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .enable(SerializationFeature.INDENT_OUTPUT);

  private SidecarConfig() {}

  public static String json(AppPlan plan) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("version", 1);
    c.put("listenPort", Names.SIDECAR_PORT);
    c.put("adminPort", Names.SIDECAR_ADMIN_PORT);
    c.put("upstream", "http://127.0.0.1:" + plan.port());
    c.put("visibility", plan.visibility().wireName());
    if (plan.host() != null) {
      c.put("publicUrl", "https://" + plan.host());
    }
    Map<String, Object> oidc = new LinkedHashMap<>();
    if (plan.issuer() != null) {
      oidc.put("issuer", plan.issuer());
    }
    oidc.put("clientId", plan.clientId());
    if (plan.sealed().clientSecret()) {
      oidc.put("clientSecretFile", CLIENT_SECRET_DIR + "/" + CLIENT_SECRET_FILE);
    }
    if (plan.oidcCaBundle() != null) {
      oidc.put("caFile", DIR + "/" + OIDC_CA_FILE);
    }
    oidc.put("redirectPath", CALLBACK_PATH);
    oidc.put("scopes", List.of("openid", "email", "profile", "groups"));
    oidc.put("groupsClaim", "groups");
    c.put("oidc", oidc);
    c.put("allowedGroups", plan.allowedGroups());
    c.put("allowedEmailDomains", plan.allowedEmailDomains());
    Map<String, Object> mfa = new LinkedHashMap<>();
    mfa.put("paths", plan.adminPaths());
    mfa.put("required", plan.mfaOnAdminPaths());
    mfa.put("amr", MFA_AMR);
    c.put("adminPaths", mfa);
    Map<String, Object> session = new LinkedHashMap<>();
    session.put("ttlSeconds", plan.sessionTtl().toSeconds());
    session.put("rememberMe", false);
    OperatorConfig.SessionKeyKms kms = plan.config().sessionKeyKms();
    if (kms == null) {
      session.put("keysetFile", KEYS_DIR + "/" + KEYSET_FILE);
    } else {
      // wrapped under the session KMS key: the sidecar proves who it is with its projected token
      session.put("keysetFile", KEYS_DIR + "/" + WrappedSessionKeys.Part.KEYSET.file);
      Map<String, Object> k = new LinkedHashMap<>();
      k.put("uri", kms.uri());
      if (kms.endpoint() != null) {
        k.put("endpoint", kms.endpoint());
      }
      if (kms.caBundle() != null) {
        k.put("caFile", DIR + "/" + KMS_CA_FILE);
      }
      String token = KMS_TOKEN_DIR + "/" + KMS_TOKEN_FILE;
      if (kms.vault() != null) {
        k.put("vault", Map.of("authPath", kms.vault().authPath(), "role", kms.vault().role(), "tokenFile", token));
      } else {
        Map<String, Object> aws = new LinkedHashMap<>();
        aws.put("roleArn", kms.aws().roleArn());
        aws.put("tokenFile", token);
        if (kms.aws().stsEndpoint() != null) {
          aws.put("stsEndpoint", kms.aws().stsEndpoint());
        }
        k.put("aws", aws);
      }
      k.put("app", Map.of("namespace", plan.namespace(), "name", plan.name()));
      session.put("kms", k);
    }
    c.put("session", session);
    c.put("userIdSaltFile", KEYS_DIR + "/" + (kms == null ? USER_ID_SALT_FILE : WrappedSessionKeys.Part.USER_ID_SALT.file));
    Map<String, Object> limits = new LinkedHashMap<>();
    limits.put("perUserPerMinute", plan.limits().perUserPerMinute());
    limits.put("perIpPerMinute", plan.sidecarLimitsPerIp() ? plan.limits().perIpPerMinute() : 0);
    limits.put("perIpBurstPerSecond", plan.sidecarLimitsPerIp() ? plan.limits().perIpBurstPerSecond() : 0);
    c.put("rateLimit", limits);
    if (plan.retention().usesToken()) {
      c.put("purge", Map.of("path", plan.retention().purge().getHttp().getPath(),
          "tokenFile", SidecarRuntime.SIDECAR_PURGE_TOKEN_DIR + "/" + SidecarRuntime.PURGE_TOKEN_KEY));
    }
    if (plan.retention().exportPath() != null || plan.retention().deletePath() != null) {
      Map<String, Object> userData = new LinkedHashMap<>();
      if (plan.retention().exportPath() != null) {
        userData.put("exportPath", plan.retention().exportPath());
      }
      if (plan.retention().deletePath() != null) {
        userData.put("deletePath", plan.retention().deletePath());
      }
      userData.put("perUserPerHour", 5);
      c.put("userData", userData);
    }
    c.put("trustedProxyCidrs", plan.config().trustedProxyCidrs());
    c.put("hsts", HSTS);
    try {
      return JSON.writeValueAsString(c) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("sidecar configuration could not be written", e);
    }
  }

  public static ConfigMap desired(MicroApp app, AppPlan plan) {
    return desired(app, plan, json(plan));
  }

  /** @param json the plan's {@link #json}, when the caller has it already (the reconciler writes it once a reconcile) */
  public static ConfigMap desired(MicroApp app, AppPlan plan, String json) {
    return new ConfigMapBuilder()
        .withMetadata(Names.metadata(app, Names.sidecarConfigMap(app)))
        .withImmutable(false)
        .withData(data(plan, json))
        .build();
  }

  /** The ConfigMap's keys: {@value #FILE} and, when the operator has a provider CA, {@value #OIDC_CA_FILE}. */
  private static Map<String, String> data(AppPlan plan, String json) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(FILE, json);
    if (plan.oidcCaBundle() != null) {
      data.put(OIDC_CA_FILE, plan.oidcCaBundle());
    }
    if (kmsCaBundle(plan) != null) {
      data.put(KMS_CA_FILE, kmsCaBundle(plan));
    }
    return data;
  }

  /**
   * The pod template's config hash: everything the sidecar reads from this ConfigMap, so its pods
   * roll when the configuration or the CA bundle changes. Without a CA it is the hash of
   * {@value #FILE} alone, as it always was, so existing pods do not roll.
   */
  public static String contentHash(AppPlan plan) {
    return contentHash(plan, json(plan));
  }

  /** @param json the plan's {@link #json} */
  public static String contentHash(AppPlan plan, String json) {
    String kmsCa = kmsCaBundle(plan);
    return ContentHash.of((plan.oidcCaBundle() == null ? json : json + plan.oidcCaBundle()) + (kmsCa == null ? "" : kmsCa));
  }

  private static String kmsCaBundle(AppPlan plan) {
    return plan.config().sessionKeyKms() == null ? null : plan.config().sessionKeyKms().caBundle();
  }
}
