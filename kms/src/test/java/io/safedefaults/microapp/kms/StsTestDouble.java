package io.safedefaults.microapp.kms;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * TEST DOUBLE of AWS STS's {@code AssumeRoleWithWebIdentity} (the form POST and the XML answer as
 * AWS documents them, errors {@code AccessDenied} and {@code InvalidIdentityToken}), and a front
 * for local-kms that checks what local-kms does not: every KMS request must carry a SigV4
 * signature made with credentials this STS issued and that have not expired, and their session
 * token; only then is it passed on. Whose token a JWT is, is asked of a {@link Reviewer} (in the
 * e2e, the cluster's TokenReview, as STS asks the cluster's OIDC issuer); a role trusts service
 * accounts {@code namespace/name}, either part {@code *}.
 */
public final class StsTestDouble implements AutoCloseable {
  private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private final HttpServer sts;
  private final HttpServer kmsFront;
  private final URI localKms;
  private final String region;
  private final Map<String, Set<String>> roles = new ConcurrentHashMap<>();
  private final Map<String, Issued> issued = new ConcurrentHashMap<>();
  private final TransitTestDouble.Reviewer reviewer;
  private final HttpClient forward = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final SecureRandom random = new SecureRandom();
  /** Credentials last this long (AWS: 15 min to 12 h); tests shorten it. */
  public volatile Duration lifetime = Duration.ofHours(1);
  public volatile Clock clock = Clock.systemUTC();
  public final AtomicInteger assumed = new AtomicInteger();
  public final AtomicInteger kmsRequests = new AtomicInteger();

  record Issued(AwsCredentials.Credentials credentials, Instant expires) {}

  /** @param localKmsPort local-kms on the loopback interface, behind the front */
  public StsTestDouble(InetAddress address, int localKmsPort, String region, TransitTestDouble.Reviewer reviewer)
      throws IOException {
    this.localKms = URI.create("http://127.0.0.1:" + localKmsPort + "/");
    this.region = region;
    this.reviewer = reviewer;
    sts = HttpServer.create(new InetSocketAddress(address, 0), 0);
    sts.createContext("/", this::sts);
    kmsFront = HttpServer.create(new InetSocketAddress(address, 0), 0);
    kmsFront.createContext("/", this::kms);
    for (HttpServer s : new HttpServer[] {sts, kmsFront}) {
      s.setExecutor(java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sts-test-double");
        t.setDaemon(true);
        return t;
      }));
      s.start();
    }
  }

  /** A role that trusts these service accounts. */
  public void role(String roleArn, Set<String> boundServiceAccounts) {
    roles.put(roleArn, boundServiceAccounts);
  }

  public String stsEndpoint() {
    return "http://" + sts.getAddress().getAddress().getHostAddress() + ":" + sts.getAddress().getPort();
  }

  public String kmsEndpoint() {
    return "http://" + kmsFront.getAddress().getAddress().getHostAddress() + ":" + kmsFront.getAddress().getPort();
  }

  private void sts(HttpExchange ex) throws IOException {
    try (ex) {
      Map<String, String> form = new HashMap<>();
      for (String pair : new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          form.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
      }
      if (!"POST".equals(ex.getRequestMethod()) || !"AssumeRoleWithWebIdentity".equals(form.get("Action"))
          || !"2011-06-15".equals(form.get("Version"))) {
        error(ex, 400, "InvalidAction");
        return;
      }
      Optional<String> who;
      try {
        who = reviewer.review(form.getOrDefault("WebIdentityToken", ""));
      } catch (Exception e) {
        who = Optional.empty();
      }
      if (who.isEmpty()) {
        error(ex, 400, "InvalidIdentityToken");
        return;
      }
      Set<String> bound = roles.get(form.get("RoleArn"));
      String[] got = who.get().split("/", 2);
      if (bound == null || bound.stream().map(b -> b.split("/", 2)).noneMatch(b ->
          (b[0].equals("*") || b[0].equals(got[0])) && (b[1].equals("*") || b[1].equals(got[1])))) {
        error(ex, 403, "AccessDenied");
        return;
      }
      assumed.incrementAndGet();
      AwsCredentials.Credentials c = new AwsCredentials.Credentials("ASIA" + HexFormat.of().formatHex(bytes(8)).toUpperCase(),
          HexFormat.of().formatHex(bytes(20)), "session-" + HexFormat.of().formatHex(bytes(24)));
      Instant expires = clock.instant().plus(lifetime);
      issued.put(c.accessKeyId(), new Issued(c, expires));
      reply(ex, 200, "text/xml", """
          <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
            <AssumeRoleWithWebIdentityResult>
              <SubjectFromWebIdentityToken>system:serviceaccount:%s:%s</SubjectFromWebIdentityToken>
              <Credentials>
                <SessionToken>%s</SessionToken>
                <SecretAccessKey>%s</SecretAccessKey>
                <Expiration>%s</Expiration>
                <AccessKeyId>%s</AccessKeyId>
              </Credentials>
            </AssumeRoleWithWebIdentityResult>
          </AssumeRoleWithWebIdentityResponse>
          """.formatted(got[0], got[1], c.sessionToken(), c.secretAccessKey(), expires, c.accessKeyId()));
    } catch (Exception e) {
      error(ex, 500, "InternalFailure");
    }
  }

  private void kms(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = ex.getRequestBody().readAllBytes();
      kmsRequests.incrementAndGet();
      String auth = Optional.ofNullable(ex.getRequestHeaders().getFirst("Authorization")).orElse("");
      int cred = auth.indexOf("Credential=");
      String keyId = cred < 0 ? "" : auth.substring(cred + 11, auth.indexOf('/', cred));
      Issued i = issued.get(keyId);
      if (i == null) {
        json(ex, 400, "UnrecognizedClientException");
        return;
      }
      if (!clock.instant().isBefore(i.expires())) {
        json(ex, 400, "ExpiredTokenException");
        return;
      }
      if (!i.credentials().sessionToken().equals(ex.getRequestHeaders().getFirst("X-Amz-Security-Token"))) {
        json(ex, 403, "InvalidSignatureException");
        return;
      }
      Map<String, String> signedHeaders = new LinkedHashMap<>();
      signedHeaders.put("content-type", ex.getRequestHeaders().getFirst("Content-Type"));
      signedHeaders.put("x-amz-target", ex.getRequestHeaders().getFirst("X-Amz-Target"));
      Instant at = Instant.from(AMZ_DATE.parse(ex.getRequestHeaders().getFirst("X-Amz-Date")));
      String expected = SigV4.sign(URI.create("http://" + ex.getRequestHeaders().getFirst("Host")), region, "kms",
          signedHeaders, body, i.credentials(), at).get("authorization");
      if (!auth.equals(expected)) {
        json(ex, 403, "InvalidSignatureException");
        return;
      }
      HttpResponse<byte[]> r = forward.send(HttpRequest.newBuilder(localKms)
          .header("Content-Type", signedHeaders.get("content-type")).header("X-Amz-Target", signedHeaders.get("x-amz-target"))
          .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
      ex.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.1");
      ex.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
      ex.getResponseBody().write(r.body());
    } catch (Exception e) {
      json(ex, 500, "InternalFailure");
    }
  }

  private byte[] bytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private static void error(HttpExchange ex, int status, String code) throws IOException {
    reply(ex, status, "text/xml", "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
        + "<Code>" + code + "</Code><Message>refused by the test double</Message></Error><RequestId>x</RequestId></ErrorResponse>");
  }

  private static void json(HttpExchange ex, int status, String type) throws IOException {
    reply(ex, status, "application/x-amz-json-1.1", "{\"__type\":\"" + type + "\"}");
  }

  private static void reply(HttpExchange ex, int status, String type, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
  }

  @Override
  public void close() {
    sts.stop(0);
    kmsFront.stop(0);
  }
}
