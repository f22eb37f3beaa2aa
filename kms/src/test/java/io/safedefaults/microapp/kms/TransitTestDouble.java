package io.safedefaults.microapp.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * TEST DOUBLE of HashiCorp Vault's Transit secrets engine: the encrypt/decrypt endpoints only, as
 * Vault documents them ({@code POST /v1/<mount>/encrypt/<key>} with base64 {@code plaintext},
 * answering {@code data.ciphertext} "vault:v1:..."; {@code /decrypt/<key>} the reverse;
 * {@code X-Vault-Token}; {@code {"errors":[...]}} with 400/403/404). It exists because no Vault or
 * OpenBao server can be built from the registries here: {@code github.com/openbao/openbao@v2.4.1}
 * is refused by the Go module proxy (403, "not available"), and {@code github.com/hashicorp/vault@v1.21.4}
 * downloads but cannot be built with {@code go install} (its go.mod has replace directives for
 * ./api and ./sdk). Served over HTTPS with a certificate made by keytool for this run, so the
 * client's {@code --kms-ca-file} is exercised too.
 *
 * <p>{@link #kubernetesAuth} adds Vault's Kubernetes auth method as Vault documents it
 * ({@code POST /v1/auth/<path>/login} with {@code role} and {@code jwt}, answering
 * {@code auth.client_token} and {@code auth.lease_duration}); whether the JWT is a live token of
 * a bound service account is asked of a {@link Reviewer}: in the API-server tests a real
 * TokenReview against kube-apiserver, as Vault itself asks.
 */
public final class TransitTestDouble implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpsServer server;
  private final Map<String, byte[]> keys = new ConcurrentHashMap<>();
  public final Path caFile;
  public final Path dir;
  public volatile String token = "s.test-token";
  final String mount;
  private final java.util.Set<String> loginTokens = ConcurrentHashMap.newKeySet();
  /** Logins made so far (each a TokenReview when the reviewer is the API server's). */
  public final java.util.concurrent.atomic.AtomicInteger logins = new java.util.concurrent.atomic.AtomicInteger();

  /** Says whose live service-account token a JWT is: {@code namespace/name}, or empty when it is none. */
  @FunctionalInterface
  public interface Reviewer {
    java.util.Optional<String> review(String jwt) throws Exception;
  }

  public TransitTestDouble(String mount, String... keyNames) throws Exception {
    this(InetAddress.getLoopbackAddress(), mount, keyNames);
  }

  /** Listening on {@code address} (e.g. a node's address, for pods), its certificate naming it too. */
  public TransitTestDouble(InetAddress address, String mount, String... keyNames) throws Exception {
    this.mount = mount;
    dir = Files.createTempDirectory("transit");
    Path p12 = dir.resolve("server.p12");
    caFile = dir.resolve("ca.pem");
    run("keytool", "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
        "-ext", "SAN=dns:localhost,ip:127.0.0.1" + (address.isLoopbackAddress() ? "" : ",ip:" + address.getHostAddress()), "-validity", "1", "-keystore", p12.toString(), "-storetype", "PKCS12",
        "-storepass", "changeit", "-keypass", "changeit");
    run("keytool", "-exportcert", "-rfc", "-alias", "server", "-keystore", p12.toString(), "-storepass", "changeit",
        "-file", caFile.toString());
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      ks.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "changeit".toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    for (String k : keyNames) {
      byte[] key = new byte[32];
      new SecureRandom().nextBytes(key);
      keys.put(k, key);
    }
    server = HttpsServer.create(new InetSocketAddress(address, 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(ctx));
    server.createContext("/v1/" + mount + "/", this::handle);
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "transit-test-double");
      t.setDaemon(true);
      return t;
    }));
    server.start();
  }

  /**
   * Mounts the Kubernetes auth method at {@code auth/<path>} with one role bound to service accounts
   * {@code namespace/name} (either part may be {@code *}), issuing tokens of {@code leaseSeconds}.
   */
  public void kubernetesAuth(String path, String role, java.util.Set<String> bound, Reviewer reviewer, long leaseSeconds) {
    server.createContext("/v1/auth/" + path + "/login", ex -> {
      try (ex) {
        JsonNode body = JSON.readTree(ex.getRequestBody().readAllBytes());
        if (!"POST".equals(ex.getRequestMethod())) {
          reply(ex, 405, Map.of("errors", new String[] {"unsupported operation"}));
          return;
        }
        if (!role.equals(body.path("role").asText())) {
          reply(ex, 400, Map.of("errors", new String[] {"invalid role name \"" + body.path("role").asText() + "\""}));
          return;
        }
        logins.incrementAndGet();
        java.util.Optional<String> who = reviewer.review(body.path("jwt").asText(""));
        boolean allowed = who.isPresent() && bound.stream().anyMatch(b -> {
          String[] want = b.split("/", 2);
          String[] got = who.get().split("/", 2);
          return (want[0].equals("*") || want[0].equals(got[0])) && (want[1].equals("*") || want[1].equals(got[1]));
        });
        if (!allowed) {
          reply(ex, 403, Map.of("errors", new String[] {"permission denied"}));
          return;
        }
        String issued = "hvs.login-" + java.util.UUID.randomUUID();
        loginTokens.add(issued);
        reply(ex, 200, Map.of("auth", Map.of("client_token", issued, "lease_duration", leaseSeconds, "renewable", true)));
      } catch (Exception e) {
        reply(ex, 500, Map.of("errors", new String[] {"internal error"}));
      }
    });
  }

  /** Revokes every token issued by a login so far, as {@code vault token revoke} would. */
  public void revokeLogins() {
    loginTokens.clear();
  }

  /** The key as --kms-uri names it, at the address this double listens on. */
  public String uri(String key) {
    InetAddress a = server.getAddress().getAddress();
    return "vault-transit://" + (a.isLoopbackAddress() ? "localhost" : a.getHostAddress()) + ":" + port() + "/" + mount
        + "/keys/" + key;
  }

  /** A file holding the operator's token, as Vault Agent writes it. */
  public Path operatorTokenFile() throws IOException {
    Path f = dir.resolve("operator-token");
    Files.writeString(f, token);
    return f;
  }

  /** The operator's key-encryption key for one of this double's keys: its token file, this double's CA. */
  public com.google.crypto.tink.Aead kek(String key) throws IOException {
    return Kms.fromFlags(uri(key), null, operatorTokenFile().toString(), caFile.toString()).kek(Map.of());
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      // read the whole request first, whatever the answer: a refusal that leaves the body unread can
      // stall the next request on the same kept-alive connection
      byte[] request = ex.getRequestBody().readAllBytes();
      if (!"POST".equals(ex.getRequestMethod())) {
        reply(ex, 405, Map.of("errors", new String[] {"unsupported operation"}));
        return;
      }
      String presented = ex.getRequestHeaders().getFirst("X-Vault-Token");
      if (presented == null || !(token.equals(presented) || loginTokens.contains(presented))) {
        reply(ex, 403, Map.of("errors", new String[] {"permission denied"}));
        return;
      }
      String[] path = ex.getRequestURI().getPath().substring(("/v1/" + mount + "/").length()).split("/");
      if (path.length != 2 || !keys.containsKey(path[1])) {
        reply(ex, 400, Map.of("errors", new String[] {"encryption key not found"}));
        return;
      }
      byte[] key = keys.get(path[1]);
      JsonNode body = JSON.readTree(request);
      if (path[0].equals("encrypt")) {
        byte[] nonce = new byte[12];
        new SecureRandom().nextBytes(nonce);
        byte[] ct = gcm(Cipher.ENCRYPT_MODE, key, nonce).doFinal(Base64.getDecoder().decode(body.get("plaintext").asText()));
        String text = "vault:v1:" + Base64.getEncoder().encodeToString(ByteBuffer.allocate(12 + ct.length).put(nonce).put(ct).array());
        reply(ex, 200, Map.of("data", Map.of("ciphertext", text, "key_version", 1)));
      } else if (path[0].equals("decrypt")) {
        String text = body.path("ciphertext").asText();
        if (!text.startsWith("vault:v1:")) {
          reply(ex, 400, Map.of("errors", new String[] {"invalid ciphertext: no prefix"}));
          return;
        }
        byte[] raw = Base64.getDecoder().decode(text.substring("vault:v1:".length()));
        byte[] plain;
        try {
          plain = gcm(Cipher.DECRYPT_MODE, key, Arrays.copyOf(raw, 12)).doFinal(raw, 12, raw.length - 12);
        } catch (java.security.GeneralSecurityException e) {
          reply(ex, 400, Map.of("errors", new String[] {"cipher: message authentication failed"}));
          return;
        }
        reply(ex, 200, Map.of("data", Map.of("plaintext", Base64.getEncoder().encodeToString(plain))));
      } else {
        reply(ex, 405, Map.of("errors", new String[] {"unsupported path"}));
      }
    } catch (Exception e) {
      reply(ex, 500, Map.of("errors", new String[] {"internal error"}));
    }
  }

  private static Cipher gcm(int mode, byte[] key, byte[] nonce) throws java.security.GeneralSecurityException {
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
    return c;
  }

  private static void reply(HttpExchange ex, int status, Object body) throws IOException {
    byte[] b = JSON.writeValueAsBytes(body);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
  }

  private static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
    }
  }

  @Override
  public void close() throws IOException {
    server.stop(0);
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
