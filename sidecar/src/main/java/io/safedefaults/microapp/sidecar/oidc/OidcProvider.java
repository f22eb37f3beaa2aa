package io.safedefaults.microapp.sidecar.oidc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.safedefaults.microapp.sidecar.config.ConfigException;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.ProviderCa;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import javax.net.ssl.SSLException;

/**
 * The provider's endpoints, read once at start from its discovery document. A wrong issuer fails
 * the start with one line (checklist 1): better a pod that does not become ready than one that
 * lets nobody in, or the wrong people.
 */
public record OidcProvider(String issuer, URI authorizationEndpoint, URI tokenEndpoint, URI jwksUri,
    URI endSessionEndpoint) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * @param http {@link ProviderHttp#client()}
   * @param ca the {@code oidc.caFile} that client trusts, or null for the JVM's defaults; named in
   *     the message when the provider's certificate is not trusted
   */
  public static OidcProvider discover(String issuer, HttpClient http, ProviderCa ca) {
    URI url = URI.create((issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer)
        + "/.well-known/openid-configuration");
    JsonNode doc;
    try {
      HttpResponse<String> rsp = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10))
          .header("Accept", "application/json").GET().build(), HttpResponse.BodyHandlers.ofString());
      if (rsp.statusCode() != 200) {
        throw new ConfigException("OIDC discovery at " + url + " answered HTTP " + rsp.statusCode()
            + "; check field 'oidc.issuer'");
      }
      doc = JSON.readTree(rsp.body());
    } catch (ConfigException e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConfigException("OIDC discovery at " + url + " was interrupted");
    } catch (SSLException e) {
      // the provider answered, but not with a certificate we can trust for this host name
      throw new ConfigException("OIDC discovery at " + url + " failed (" + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); "
          + (ca == null
              ? "its TLS certificate must be signed by a CA the JVM trusts; for a private CA set field 'oidc.caFile'"
                  + " to a PEM bundle of it"
              : "its TLS certificate must be signed by a CA in field 'oidc.caFile' (" + ca.file() + ") and name the"
                  + " issuer's host"));
    } catch (Exception e) {
      throw new ConfigException("OIDC discovery at " + url + " failed (" + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); check field 'oidc.issuer'");
    }
    String advertised = text(doc, "issuer");
    if (!issuer.equals(advertised)) {
      // OIDC Discovery 4.3: the document must name exactly the issuer we asked for
      throw new ConfigException("OIDC discovery at " + url + " names issuer '" + advertised
          + "', not the configured '" + issuer + "'; set field 'oidc.issuer' to the exact issuer");
    }
    JsonNode methods = doc.get("code_challenge_methods_supported");
    if (methods != null && methods.isArray()) {
      boolean s256 = false;
      for (JsonNode m : methods) {
        s256 |= "S256".equals(m.asText());
      }
      if (!s256) {
        throw new ConfigException("the provider " + issuer + " does not support PKCE S256; enable it for client sign-in");
      }
    }
    String end = text(doc, "end_session_endpoint");
    return new OidcProvider(issuer, endpoint(doc, "authorization_endpoint", issuer), endpoint(doc, "token_endpoint", issuer),
        endpoint(doc, "jwks_uri", issuer), end == null ? null : URI.create(end));
  }

  private static URI endpoint(JsonNode doc, String field, String issuer) {
    String v = text(doc, field);
    if (v == null) {
      throw new ConfigException("the provider " + issuer + " publishes no " + field + " in its discovery document");
    }
    URI u = URI.create(v);
    boolean loopback = u.getHost() != null && (u.getHost().equals("localhost") || u.getHost().startsWith("127."));
    if (!"https".equals(u.getScheme()) && !("http".equals(u.getScheme()) && loopback)) {
      throw new ConfigException("the provider's " + field + " " + v + " is not https");
    }
    return u;
  }

  private static String text(JsonNode doc, String field) {
    JsonNode n = doc.get(field);
    return n == null || n.isNull() ? null : n.asText();
  }
}
