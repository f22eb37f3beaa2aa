package io.safedefaults.microapp.kube;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.safedefaults.microapp.api.MicroApp;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** Names and labels shared by every child resource, so selectors and informers agree. */
public final class Names {
  public static final String MANAGED_BY_KEY = "app.kubernetes.io/managed-by";
  public static final String MANAGED_BY = "microapp-operator";
  /** Label selector of every informer: the operator caches only what it manages. */
  public static final String MANAGED_SELECTOR = MANAGED_BY_KEY + "=" + MANAGED_BY;
  public static final String APP_LABEL = "safedefaults.io/app";
  /** On purge Jobs and their pods: which app they purge (the NetworkPolicy admits them to the sidecar). */
  public static final String PURGE_LABEL = "safedefaults.io/purge-for";
  public static final String CONFIG_HASH_ANNOTATION = "safedefaults.io/config-hash";
  public static final String SECRETS_HASH_ANNOTATION = "safedefaults.io/secrets-hash";

  public static final String APP_CONTAINER = "app";
  public static final String SIDECAR_CONTAINER = "auth-proxy";
  /** The projected service-account token the sidecar alone proves itself to the session KMS with. */
  public static final String KMS_TOKEN_VOLUME = "auth-proxy-kms-token";
  /** The purge runner's container; its termination message is the run's summary (status.PurgeRuns). */
  public static final String PURGE_CONTAINER = "purge";
  public static final int SIDECAR_PORT = 4180;
  public static final int SIDECAR_ADMIN_PORT = 4181;
  public static final String SIDECAR_PORT_NAME = "auth-http";
  public static final String SIDECAR_ADMIN_PORT_NAME = "auth-admin";
  public static final int SERVICE_PORT = 80;

  private Names() {}

  /**
   * The CronJob controller names each run's Job {@code <cronjob>-<minutes since epoch>} and the
   * Job's pods carry that name in a label, so a CronJob's name may have at most 52 characters.
   */
  public static final int CRONJOB_NAME_MAX = 52;
  /** A Report's name stays a DNS label, as the app's own name is. */
  public static final int REPORT_NAME_MAX = 63;
  /** Hex characters of the name's SHA-256 kept when a child name has to be shortened. */
  static final int HASH_LENGTH = 8;

  /*
   * The naming rule (README, "Names of the children"). An app's name is a DNS label of at most 63
   * characters (admission refuses others). Each kind holds at most one name without a suffix, and
   * within a kind no suffix ends another, so two apps' children can never share a name:
   *
   *   Deployment, Service, NetworkPolicy, Ingress, ServiceAccount   <app>
   *   ConfigMap   <app>-auth-proxy (sidecar), <purge> (purge job)
   *   Secret      <app>-session-keys, <app>-sealed, <app>-tls (cert-manager), <purge>-token
   *   CronJob     <purge>
   *   Report      <report> (openreports.io, only where its CRD is installed)
   *
   * where <purge> is <app>-purge, shortened to 52 characters when longer: the first characters of
   * the app's name, '-', the first 8 hex characters of the SHA-256 of the full name, '-purge'.
   * Only names of 47 characters or more are shortened, so shorter apps keep their names across
   * versions. <report> is <app>-checklist, shortened the same way to 63 characters (a DNS label,
   * like the app's own name). Objects the app does not control are never taken over (ManagedDependent).
   */

  public static String sidecarConfigMap(MicroApp app) {
    return app.getMetadata().getName() + "-auth-proxy";
  }

  public static String sessionKeysSecret(MicroApp app) {
    return app.getMetadata().getName() + "-session-keys";
  }

  public static String sealedValuesSecret(MicroApp app) {
    return app.getMetadata().getName() + "-sealed";
  }

  /** The CronJob and the purge job's ConfigMap. */
  public static String purge(MicroApp app) {
    return fit(app.getMetadata().getName(), "-purge", CRONJOB_NAME_MAX);
  }

  public static String purgeToken(MicroApp app) {
    return purge(app) + "-token";
  }

  /** The app's OpenReports Report (reports.ChecklistReport). */
  public static String report(MicroApp app) {
    return fit(app.getMetadata().getName(), "-checklist", REPORT_NAME_MAX);
  }

  /**
   * The HTTPRoutes of gateway mode: {@code <app>-https} on the HTTPS listener, {@code <app>-http} on
   * the plain one (redirect only). Both suffixed, so no app's route is named like another app's.
   */
  public static String httpsRoute(MicroApp app) {
    return app.getMetadata().getName() + HTTPS_ROUTE_SUFFIX;
  }

  public static String redirectRoute(MicroApp app) {
    return app.getMetadata().getName() + REDIRECT_ROUTE_SUFFIX;
  }

  /** Gateway mode with --gateway-edge-limits envoy-gateway: the app's BackendTrafficPolicy. */
  public static String edgePolicy(MicroApp app) {
    return app.getMetadata().getName() + EDGE_POLICY_SUFFIX;
  }

  public static final String EDGE_POLICY_SUFFIX = "-edge";
  public static final String HTTPS_ROUTE_SUFFIX = "-https";
  public static final String REDIRECT_ROUTE_SUFFIX = "-http";

  public static String tlsSecret(MicroApp app) {
    return app.getMetadata().getName() + "-tls";
  }

  /**
   * {@code base + suffix} if that has at most {@code max} characters; otherwise the start of
   * {@code base}, '-', a hash of all of {@code base}, and the suffix, in exactly {@code max}.
   */
  static String fit(String base, String suffix, int max) {
    if (base.length() + suffix.length() <= max) {
      return base + suffix;
    }
    String hash = HexFormat.of().formatHex(sha256(base)).substring(0, HASH_LENGTH);
    String head = base.substring(0, max - suffix.length() - HASH_LENGTH - 1);
    // A DNS name cannot hold "--" at a label's end; trimming keeps the result a valid name.
    while (head.endsWith("-")) {
      head = head.substring(0, head.length() - 1);
    }
    return head + "-" + hash + suffix;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** Name, namespace and labels of a child of {@code app}. */
  public static ObjectMeta metadata(MicroApp app, String name) {
    return new ObjectMetaBuilder()
        .withName(name)
        .withNamespace(app.getMetadata().getNamespace())
        .withLabels(labels(app))
        .build();
  }

  /** Labels on every child; the first two also select the app's pods. */
  public static Map<String, String> labels(MicroApp app) {
    Map<String, String> labels = new LinkedHashMap<>(selector(app));
    labels.put("app.kubernetes.io/name", app.getMetadata().getName());
    labels.put(MANAGED_BY_KEY, MANAGED_BY);
    return labels;
  }

  public static Map<String, String> selector(MicroApp app) {
    return Map.of(APP_LABEL, app.getMetadata().getName());
  }
}
