package io.safedefaults.microapp;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.safedefaults.microapp.api.MicroApp;
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
  public static final int SIDECAR_PORT = 4180;
  public static final int SIDECAR_ADMIN_PORT = 4181;
  public static final String SIDECAR_PORT_NAME = "auth-http";
  public static final String SIDECAR_ADMIN_PORT_NAME = "auth-admin";
  public static final int SERVICE_PORT = 80;

  private Names() {}

  public static String sidecarConfigMap(MicroApp app) {
    return app.getMetadata().getName() + "-auth-proxy";
  }

  public static String sessionKeysSecret(MicroApp app) {
    return app.getMetadata().getName() + "-session-keys";
  }

  public static String purge(MicroApp app) {
    return app.getMetadata().getName() + "-purge";
  }

  public static String purgeToken(MicroApp app) {
    return app.getMetadata().getName() + "-purge-token";
  }

  public static String tlsSecret(MicroApp app) {
    return app.getMetadata().getName() + "-tls";
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
