package io.safedefaults.microapp.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * HTTP/1.1 to the cluster's ingress controller the way a client on the internet reaches it: a TCP
 * connection to the node address (where the controller's hostPorts are), TLS with the app's host
 * as SNI, the certificate verified against the cluster's CA <em>and</em> the host name, then one
 * request with {@code Connection: close}. No DNS is involved (the app hosts exist only inside the
 * cluster's DNS), and nothing is hidden by a client library: status, every header as sent, body.
 */
public final class IngressHttp {

  /** One answer. Header names are lower case; a header may repeat. */
  public record Response(int status, Map<String, List<String>> headers, String body) {
    public Optional<String> header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
    }

    public List<String> headers(String name) {
      return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }

    @Override
    public String toString() {
      return status + " " + headers + "\n" + (body.length() > 2000 ? body.substring(0, 2000) + "..." : body);
    }
  }

  private final String nodeAddress;
  private final SSLContext tls;

  /** @param caFile the PEM of the CA the cluster's ClusterIssuer signs with (e2e/node: ingress-ca.crt) */
  public IngressHttp(String nodeAddress, Path caFile) {
    this.nodeAddress = nodeAddress;
    this.tls = trusting(caFile);
  }

  static SSLContext trusting(Path caFile) {
    try (InputStream in = Files.newInputStream(caFile)) {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("ca-" + i++, (X509Certificate) cert);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the cluster CA " + caFile, e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot build a trust store from " + caFile, e);
    }
  }

  public Response get(String url, String... headers) {
    return send("GET", url, null, headers);
  }

  /**
   * Sends one request; {@code headers} are "Name: value" strings sent as given (so a test can send
   * duplicates or spoofed headers). Host, Connection and Content-Length are added here.
   */
  public Response send(String method, String url, String body, String... headers) {
    URI uri = URI.create(url);
    boolean https = "https".equals(uri.getScheme());
    int port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
    String target = Optional.ofNullable(uri.getRawPath()).filter(p -> !p.isEmpty()).orElse("/")
        + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    StringBuilder req = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n")
        .append("Host: ").append(uri.getHost()).append(uri.getPort() > 0 ? ":" + uri.getPort() : "").append("\r\n");
    for (String h : headers) {
      req.append(h).append("\r\n");
    }
    if (body != null) {
      req.append("Content-Length: ").append(payload.length).append("\r\n");
    }
    req.append("Connection: close\r\n\r\n");
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress(nodeAddress, port), 5_000);
      plain.setSoTimeout(30_000);
      Socket s = plain;
      if (https) {
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(plain, uri.getHost(), port, true);
        SSLParameters p = ssl.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(uri.getHost())));
        p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host
        ssl.setSSLParameters(p);
        ssl.startHandshake();
        s = ssl;
      }
      OutputStream out = s.getOutputStream();
      out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(payload);
      out.flush();
      return read(s.getInputStream(), "HEAD".equals(method));
    } catch (IOException e) {
      throw new UncheckedIOException(method + " " + url + " via " + nodeAddress + ": " + e.getMessage(), e);
    }
  }

  private static Response read(InputStream in, boolean head) throws IOException {
    String status = line(in);
    String[] parts = status.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP/1.x answer: " + status);
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String l = line(in); !l.isEmpty(); l = line(in)) {
      int colon = l.indexOf(':');
      headers.computeIfAbsent(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(l.substring(colon + 1).trim());
    }
    int code = Integer.parseInt(parts[1]);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    if (!head && code != 204 && code != 304) {
      List<String> te = headers.getOrDefault("transfer-encoding", List.of());
      if (te.stream().anyMatch(v -> v.toLowerCase(Locale.ROOT).contains("chunked"))) {
        for (int size = Integer.parseInt(line(in).split(";")[0].trim(), 16); size > 0;
             size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) {
          body.write(in.readNBytes(size));
          line(in);
        }
      } else if (headers.containsKey("content-length")) {
        body.write(in.readNBytes(Integer.parseInt(headers.get("content-length").get(0))));
      } else {
        in.transferTo(body);
      }
    }
    return new Response(code, headers, body.toString(StandardCharsets.UTF_8));
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("connection closed in the middle of a line: " + b.toString(StandardCharsets.ISO_8859_1));
      }
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }
}
