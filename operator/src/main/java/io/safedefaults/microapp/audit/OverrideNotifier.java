package io.safedefaults.microapp.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the owners a policy names when an app relaxes a default (checklist 10), besides the audit
 * record and the Event: one POST of {@code {"text": ...}} (what Slack and Teams incoming webhooks
 * take) per target, retried with exponential backoff on network errors, 429 and 5xx, off the
 * reconcile thread. Targets are keys of the Secret {@value #SECRET} in the operator's namespace:
 * webhook URLs carry tokens, so they are read from there when a message is sent and never logged.
 * The message names the app and the relaxed settings with their justifications (e-mail addresses
 * masked, cut to a line); it carries no secret value, no URL and no user (the operator acts on
 * specs, not on people).
 */
public final class OverrideNotifier implements OverrideNotifications, AutoCloseable {
  public static final String SECRET = "microapp-notify-webhooks";
  private static final Logger LOG = LoggerFactory.getLogger(OverrideNotifier.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final java.util.regex.Pattern EMAIL = java.util.regex.Pattern.compile("[^\\s@<>\"'(),;:]+@[^\\s@<>\"'(),;:]+");

  private final KubernetesClient client;
  private final String secretNamespace;
  private final Function<String, List<String>> policyKeys;
  private final String defaultKey;
  private final HttpClient http;
  private final Duration firstBackoff;
  private final int attempts;
  private final AuditLog audit = new AuditLog();
  private final ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "override-notifications");
    t.setDaemon(true);
    return t;
  });

  /**
   * @param policyKeys  the webhook keys of the policies selecting a namespace
   * @param defaultKey  the cluster default target (--notify-webhook-key), told of every app; null for none
   * @param attempts    tries per target, the first included
   */
  public OverrideNotifier(KubernetesClient client, String secretNamespace, Function<String, List<String>> policyKeys,
      String defaultKey, Duration firstBackoff, int attempts) {
    this.client = client;
    this.secretNamespace = secretNamespace;
    this.policyKeys = policyKeys;
    this.defaultKey = defaultKey == null || defaultKey.isBlank() ? null : defaultKey.trim();
    this.firstBackoff = firstBackoff;
    this.attempts = attempts;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  @Override
  public void relaxed(String namespace, String app, Map<Setting, String> relaxed) {
    Set<String> keys = new LinkedHashSet<>();
    if (defaultKey != null) {
      keys.add(defaultKey);
    }
    keys.addAll(policyKeys.apply(namespace));
    if (keys.isEmpty() || relaxed.isEmpty()) {
      return;
    }
    String body;
    try {
      body = JSON.writeValueAsString(Map.of("text", text(namespace, app, relaxed)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    for (String key : keys) {
      sender.execute(() -> send(key, namespace, app, body, 1));
    }
  }

  /** The message: app, settings and why, for people; no secret, address or user. */
  static String text(String namespace, String app, Map<Setting, String> relaxed) {
    List<String> parts = new ArrayList<>();
    relaxed.forEach((s, why) -> parts.add(s.wireName() + " (\"" + clean(why) + "\")"));
    return "Safe defaults relaxed on MicroApp " + namespace + "/" + app + ": " + String.join(", ", parts)
        + ". Each is a justified override in the app's spec.overrides; the operator's audit log has the record"
        + " (event override.applied). If it is not expected, ask the app's owner or remove the override.";
  }

  /** A justification as one short line: control characters gone, e-mail addresses masked. */
  static String clean(String why) {
    String s = why == null ? "" : why.replaceAll("[\\p{Cntrl}\\u2028\\u2029]+", " ").strip();
    s = EMAIL.matcher(s).replaceAll("[address removed]").replace("\"", "'");
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  private void send(String key, String namespace, String app, String body, int attempt) {
    URI url;
    try {
      url = webhook(key);
    } catch (IllegalArgumentException e) {
      LOG.warn("override notification for {}/{} not sent: {}", namespace, app, e.getMessage());
      audit.record("override.notification", namespace, app, Map.of("target", key, "outcome", "not_sent",
          "reason", e.getMessage()));
      return;
    } catch (KubernetesClientException e) {
      retryOrGiveUp(key, namespace, app, body, attempt, "cannot read Secret " + secretNamespace + "/" + SECRET
          + " (HTTP " + e.getCode() + ")");
      return;
    }
    String failure;
    try {
      HttpResponse<Void> rsp = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(15))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.discarding());
      int code = rsp.statusCode();
      if (code / 100 == 2) {
        audit.record("override.notification", namespace, app, Map.of("target", key, "outcome", "sent",
            "attempts", attempt));
        return;
      }
      if (code != 429 && code / 100 != 5) {
        // 4xx but 429: the webhook refuses this request and would refuse it again
        LOG.warn("override notification for {}/{} to webhook key {} refused with HTTP {}; not retried",
            namespace, app, key, code);
        audit.record("override.notification", namespace, app, Map.of("target", key, "outcome", "refused",
            "status", code, "attempts", attempt));
        return;
      }
      failure = "HTTP " + code;
    } catch (IOException e) {
      failure = e.getClass().getSimpleName(); // the message may quote the URL
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    retryOrGiveUp(key, namespace, app, body, attempt, failure);
  }

  private void retryOrGiveUp(String key, String namespace, String app, String body, int attempt, String failure) {
    if (attempt >= attempts) {
      LOG.warn("override notification for {}/{} to webhook key {} failed {} times ({}); giving up",
          namespace, app, key, attempt, failure);
      audit.record("override.notification", namespace, app, Map.of("target", key, "outcome", "failed",
          "reason", failure, "attempts", attempt));
      return;
    }
    long delay = firstBackoff.toMillis() << (attempt - 1);
    LOG.info("override notification for {}/{} to webhook key {} failed ({}); retry {} in {} ms",
        namespace, app, key, failure, attempt, delay);
    try {
      sender.schedule(() -> send(key, namespace, app, body, attempt + 1), delay, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      LOG.info("override notification for {}/{} dropped: the operator is stopping", namespace, app);
    }
  }

  /**
   * The URL under the key, strictly: https://, or http:// to a loopback address only (a relay on
   * the same host); no user info. Messages name the key, never the URL.
   */
  URI webhook(String key) {
    Secret s = client.secrets().inNamespace(secretNamespace).withName(SECRET).get();
    String encoded = s == null || s.getData() == null ? null : s.getData().get(key);
    if (encoded == null) {
      throw new IllegalArgumentException("Secret " + secretNamespace + "/" + SECRET + " has no key '" + key
          + "'; add the webhook URL under it");
    }
    String raw = new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8).strip();
    URI u;
    try {
      u = new URI(raw);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("the value of key '" + key + "' in Secret " + secretNamespace + "/" + SECRET
          + " is not a URL");
    }
    boolean https = "https".equalsIgnoreCase(u.getScheme());
    boolean loopbackHttp = "http".equalsIgnoreCase(u.getScheme()) && u.getHost() != null && isLoopback(u.getHost());
    if (u.getHost() == null || u.getRawUserInfo() != null || !(https || loopbackHttp)) {
      throw new IllegalArgumentException("the value of key '" + key + "' in Secret " + secretNamespace + "/" + SECRET
          + " must be an https:// URL without user info (http:// only to a loopback address)");
    }
    return u;
  }

  private static boolean isLoopback(String host) {
    String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    if (!h.matches("[0-9.]+|[0-9a-fA-F:]+")) {
      return "localhost".equals(h);
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress(); // a literal: no lookup
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  @Override
  public void close() {
    sender.shutdownNow();
  }
}
