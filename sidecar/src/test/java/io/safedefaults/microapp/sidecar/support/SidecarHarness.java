package io.safedefaults.microapp.sidecar.support;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import io.safedefaults.microapp.sidecar.config.ConfigLoader;
import io.safedefaults.microapp.sidecar.server.Sidecar;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Starts the real sidecar in this JVM on free loopback ports, configured the way the operator
 * configures it (same JSON fields), between a {@link TestProvider} and an {@link EchoUpstream}.
 */
public final class SidecarHarness implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  public final int port;
  public final int adminPort;
  public final Path dir;
  public final ObjectNode config;
  private final Sidecar sidecar;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .followRedirects(HttpClient.Redirect.NEVER).build();

  public SidecarHarness(TestProvider provider, EchoUpstream upstream, Consumer<ObjectNode> customise) throws Exception {
    this(provider == null ? null : provider.issuer(), upstream, customise, newKeyset());
  }

  public SidecarHarness(String issuer, EchoUpstream upstream, Consumer<ObjectNode> customise, String keysetJson)
      throws Exception {
    port = freePort();
    adminPort = freePort();
    dir = Files.createTempDirectory("sidecar-test");
    Files.writeString(dir.resolve("session-keyset.json"), keysetJson);
    config = baseConfig(issuer, upstream.port(), port, adminPort, dir.resolve("session-keyset.json"));
    customise.accept(config);
    Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
    sidecar = Sidecar.start(ConfigLoader.load(dir.resolve("config.json")));
  }

  public static ObjectNode baseConfig(String issuer, int upstreamPort, int port, int adminPort, Path keyset) throws Exception {
    String json = """
        { "version": 1, "listenPort": %d, "adminPort": %d, "upstream": "http://127.0.0.1:%d",
          "visibility": "private",
          "publicUrl": "http://localhost:%d",
          "oidc": {"issuer": "%s", "clientId": "where2eat", "redirectPath": "/oauth2/callback",
                   "scopes": ["openid","email","profile","groups"], "groupsClaim": "groups"},
          "allowedGroups": ["food-team"], "allowedEmailDomains": ["acme.com"],
          "adminPaths": {"paths": ["/admin/**", "/export"], "required": true, "amr": ["mfa","otp","hwk","swk","fpt"]},
          "session": {"ttlSeconds": 28800, "rememberMe": false, "keysetFile": "%s"},
          "rateLimit": {"perUserPerMinute": 1000, "perIpPerMinute": 100000, "perIpBurstPerSecond": 10000},
          "trustedProxyCidrs": [], "hsts": "max-age=31536000; includeSubDomains" }
        """.formatted(port, adminPort, upstreamPort, port, issuer, keyset);
    ObjectNode node = (ObjectNode) JSON.readTree(json);
    if (issuer == null) {
      ((ObjectNode) node.get("oidc")).remove("issuer");
    }
    return node;
  }

  public static String newKeyset() throws Exception {
    AeadConfig.register();
    return TinkJsonProtoKeysetFormat.serializeKeyset(KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM),
        InsecureSecretKeyAccess.get());
  }

  public static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  public String url(String pathAndQuery) {
    return "http://localhost:" + port + pathAndQuery;
  }

  public URI uri(String pathAndQuery) {
    return URI.create(url(pathAndQuery));
  }

  /** An API client's request: JSON accepted, optional bearer token and extra headers (name, value, ...). */
  public HttpResponse<String> api(String path, String bearer, String... headers) throws Exception {
    return request("GET", path, bearer, headers);
  }

  public HttpResponse<String> request(String method, String path, String bearer, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10))
        .header("Accept", "application/json");
    if (bearer != null) {
      b.header("Authorization", "Bearer " + bearer);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.setHeader(headers[i], headers[i + 1]);
    }
    return http.send(b.method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A fresh browser signs in as {@code user} (a food-team member of acme.com); its session cookie. */
  public String signIn(TestProvider provider, String user) {
    try {
      Browser browser = new Browser();
      provider.nextLogin(user, java.util.Map.of("groups", java.util.List.of("food-team"), "email", user + "@acme.com",
          "email_verified", true));
      int status = browser.get(url("/")).statusCode();
      if (status != 200) {
        throw new AssertionError("sign-in of " + user + " ended with HTTP " + status);
      }
      return browser.cookie(uri("/"), io.safedefaults.microapp.sidecar.session.CookieJar.SESSION);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The status of an API request carrying this session cookie. */
  public int statusWithSession(String session) throws Exception {
    return api("/menu", null, "Cookie", io.safedefaults.microapp.sidecar.session.CookieJar.SESSION + "=" + session)
        .statusCode();
  }

  public HttpResponse<String> admin(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    sidecar.close();
  }
}
