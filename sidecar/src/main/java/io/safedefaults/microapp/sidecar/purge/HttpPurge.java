package io.safedefaults.microapp.sidecar.purge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * The app deletes its own old data (checklist 8): {@code POST olderThan=<RFC 3339 cutoff>} to its
 * purge path through its Service, so through its sidecar, which lets the call in only with the
 * per-app token that the operator generated and only this job holds.
 *
 * <p>Success is a 2xx whose body is empty or a JSON object with a whole {@code "deleted"} count.
 * Anything else fails, a 2xx included: a 200 with an HTML page is what a single-page app's catch-all
 * route answers for a path it does not know, and taking it for a purge would report data as deleted
 * that is still there. Redirects are not followed.
 */
final class HttpPurge implements PurgeTarget {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** The CronJob's activeDeadlineSeconds is 1800 with two retries: leave room for them. */
  static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(8);
  private static final int MAX_BODY = 64 * 1024;
  /** RFC 6750 b64token: also keeps CR/LF and spaces out of the header. */
  private static final Pattern TOKEN = Pattern.compile("^[A-Za-z0-9\\-._~+/]+=*$");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI url;
  private final String token;
  private final Duration requestTimeout;

  HttpPurge(PurgeConfig.Http config) {
    this(config, REQUEST_TIMEOUT);
  }

  HttpPurge(PurgeConfig.Http config, Duration requestTimeout) {
    this.url = config.url();
    this.token = SecretFile.read(config.tokenFile(), "http.tokenFile");
    if (!TOKEN.matcher(token).matches()) {
      throw new PurgeConfigException("field 'http.tokenFile': the token is not a single bearer token "
          + "(letters, digits and -._~+/ only)");
    }
    this.requestTimeout = requestTimeout;
  }

  @Override
  public Long purge(Instant cutoff) throws PurgeFailedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER).version(HttpClient.Version.HTTP_1_1).build();
    String body = "olderThan=" + URLEncoder.encode(Cutoff.format(cutoff), StandardCharsets.UTF_8);
    HttpRequest request = HttpRequest.newBuilder(url)
        .timeout(requestTimeout)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .header("User-Agent", "microapp-purge/1")
        .header("Authorization", "Bearer " + token)
        .header(PurgeSignature.HEADER, PurgeSignature.sign(token, Instant.now().getEpochSecond(), "POST",
            url.getRawPath(), body))
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.US_ASCII))
        .build();
    HttpResponse<InputStream> response;
    byte[] answer;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = response.body()) {
        answer = in.readNBytes(MAX_BODY + 1);
      }
    } catch (HttpTimeoutException e) {
      throw new PurgeFailedException("the app's purge endpoint did not answer within "
          + (e instanceof java.net.http.HttpConnectTimeoutException ? CONNECT_TIMEOUT : requestTimeout).toSeconds()
          + " s", null);
    } catch (IOException e) {
      throw new PurgeFailedException("cannot reach the app's purge endpoint (" + e.getClass().getSimpleName() + ")", null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PurgeFailedException("interrupted while calling the app's purge endpoint", null);
    }
    int status = response.statusCode();
    if (status == 401 || status == 403) {
      throw new PurgeFailedException("the purge call was refused with HTTP " + status + "; the sidecar refuses a purge "
          + "token that differs from the one in its purge.tokenFile", null);
    }
    if (status < 200 || status > 299) {
      throw new PurgeFailedException("the app's purge endpoint answered HTTP " + status + "; old data was not deleted",
          null);
    }
    return deletedCount(status, answer);
  }

  static Long deletedCount(int status, byte[] answer) throws PurgeFailedException {
    if (answer.length > MAX_BODY) {
      throw new PurgeFailedException("the app's purge endpoint answered HTTP " + status + " with more than "
          + MAX_BODY + " bytes; expected an empty body or {\"deleted\": N}", null);
    }
    String text = new String(answer, StandardCharsets.UTF_8).strip();
    if (text.isEmpty()) {
      return null; // done, count not reported
    }
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (IOException e) {
      node = null;
    }
    JsonNode deleted = node == null || !node.isObject() ? null : node.get("deleted");
    if (deleted == null || !deleted.isIntegralNumber() || !deleted.canConvertToLong() || deleted.longValue() < 0) {
      throw new PurgeFailedException("the app's purge endpoint answered HTTP " + status + " but not with an empty body "
          + "or {\"deleted\": N}; is the purge path served by the app, not a catch-all page?", null);
    }
    return deleted.longValue();
  }
}
