package io.safedefaults.microapp.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** The HTTP both KMS clients share: JSON POSTs with timeouts, optionally trusting only a CA bundle. */
final class KmsHttp {
  static final Mapper JSON = new Mapper();

  /** Jackson's mapper with a write that cannot fail on the trees built here. */
  static final class Mapper extends ObjectMapper {
    byte[] writeValueAsBytesUnchecked(Object tree) {
      try {
        return writeValueAsBytes(tree);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }
  }
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private final HttpClient client;
  private final String what;

  /** @param what names the KMS in messages, e.g. "AWS KMS https://kms.eu-west-1.amazonaws.com" */
  KmsHttp(String what, Path caBundle) {
    this.what = what;
    // HTTP/1.1: no h2c upgrade headers towards a KMS or a proxy in front of it; no redirects followed.
    HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER);
    if (caBundle != null) {
      b.sslContext(trusting(caBundle));
    }
    this.client = b.build();
  }

  record Reply(int status, JsonNode body) {}

  Reply post(URI uri, Map<String, String> headers, byte[] body) throws KmsUnavailableException {
    HttpResponse<byte[]> response = send(uri, headers, body);
    JsonNode json;
    try {
      json = response.body().length == 0 ? JSON.createObjectNode() : JSON.readTree(response.body());
    } catch (IOException e) {
      json = JSON.createObjectNode(); // a proxy's HTML page: the status says enough
    }
    if (response.statusCode() >= 500 || response.statusCode() == 429) {
      throw new KmsUnavailableException(what + " answered HTTP " + response.statusCode() + errorName(json));
    }
    return new Reply(response.statusCode(), json);
  }

  /** A POST whose answer is not JSON (AWS STS answers XML): status and bytes; 5xx and 429 are outages. */
  HttpResponse<byte[]> postRaw(URI uri, Map<String, String> headers, byte[] body) throws KmsUnavailableException {
    HttpResponse<byte[]> response = send(uri, headers, body);
    if (response.statusCode() >= 500 || response.statusCode() == 429) {
      throw new KmsUnavailableException(what + " answered HTTP " + response.statusCode());
    }
    return response;
  }

  private HttpResponse<byte[]> send(URI uri, Map<String, String> headers, byte[] body) throws KmsUnavailableException {
    HttpRequest.Builder r = HttpRequest.newBuilder(uri).timeout(TIMEOUT).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(r::header);
    try {
      return client.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new KmsUnavailableException(what + " cannot be reached (" + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KmsUnavailableException(what + ": interrupted");
    }
  }

  /** The error's name as the KMS gives it (AWS __type, Vault errors[]), never a request's content. */
  static String errorName(JsonNode json) {
    if (json.hasNonNull("__type")) {
      String t = json.get("__type").asText();
      return " (" + t.substring(t.lastIndexOf('#') + 1) + ")";
    }
    if (json.path("errors").isArray() && !json.path("errors").isEmpty()) {
      return " (" + json.path("errors").get(0).asText() + ")";
    }
    return "";
  }

  String what() {
    return what;
  }

  private static SSLContext trusting(Path caBundle) {
    try (InputStream in = Files.newInputStream(caBundle)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("ca-" + i++, c);
      }
      if (i == 0) {
        throw new IllegalArgumentException("--kms-ca-file " + caBundle + " holds no PEM certificate");
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException e) {
      throw new IllegalArgumentException("--kms-ca-file " + caBundle + " cannot be read: " + e.getClass().getSimpleName());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("--kms-ca-file " + caBundle + " is not a PEM certificate bundle");
    }
  }
}
