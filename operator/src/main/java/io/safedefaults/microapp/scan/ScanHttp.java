package io.safedefaults.microapp.scan;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
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
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * One HTTP/1.1 request per connection, over a socket to the target's address, the way a browser
 * on the internet asks: TLS with the host as SNI, the chain checked against the trust anchors and
 * the certificate against the host name, redirects not followed, the body never read (the scan
 * looks at status and headers only, so an app's content never reaches its output).
 */
final class ScanHttp {
  private static final int MAX_HEAD = 64 * 1024;

  /** An answer: status and headers (names lower case, in order, repeats kept); the TLS session for HTTPS. */
  record Answer(int status, Map<String, List<String>> headers, SSLSession tls) {
    Optional<String> header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
    }

    List<String> all(String name) {
      return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }
  }

  private final ScanTarget target;
  private final SSLContext tls;

  ScanHttp(ScanTarget target) {
    this.target = target;
    this.tls = context(target.trust());
  }

  Answer https(String path, String accept) throws IOException {
    return get(true, target.httpsPort(), path, accept);
  }

  Answer http(String path, String accept) throws IOException {
    return get(false, target.httpPort(), path, accept);
  }

  private Answer get(boolean https, int port, String path, String accept) throws IOException {
    int defaultPort = https ? 443 : 80;
    String request = "GET " + path + " HTTP/1.1\r\n"
        + "Host: " + target.hostInUrl() + (port == defaultPort ? "" : ":" + port) + "\r\n"
        + "User-Agent: microapp-operator-scan/0.1\r\n"
        + "Accept: " + accept + "\r\n"
        + "Connection: close\r\n\r\n";
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress(target.connectTo(), port), (int) target.timeout().toMillis());
      plain.setSoTimeout((int) target.timeout().toMillis());
      Socket s = plain;
      SSLSession session = null;
      if (https) {
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(plain, target.host(), port, true);
        SSLParameters p = ssl.getSSLParameters();
        if (!ScanTarget.isIpLiteral(target.host())) {
          p.setServerNames(List.of(new SNIHostName(target.host()))); // SNI carries names only, never IP literals
        }
        p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host
        ssl.setSSLParameters(p);
        ssl.startHandshake();
        session = ssl.getSession();
        s = ssl;
      }
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return read(s.getInputStream(), session);
    }
  }

  /** Connects and closes; true when something accepted the connection. */
  static boolean accepts(ScanTarget.Address a, int timeoutMillis) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(a.host(), a.port()), timeoutMillis);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static Answer read(InputStream in, SSLSession session) throws IOException {
    int[] budget = {MAX_HEAD};
    String status = line(in, budget);
    String[] parts = status.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || !parts[1].matches("[1-5][0-9]{2}")) {
      throw new IOException("the answer is not HTTP/1.x: " + ScanTarget.printable(status));
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String l = line(in, budget); !l.isEmpty(); l = line(in, budget)) {
      int colon = l.indexOf(':');
      if (colon <= 0) {
        throw new IOException("malformed header line: " + ScanTarget.printable(l));
      }
      headers.computeIfAbsent(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(l.substring(colon + 1).trim());
    }
    return new Answer(Integer.parseInt(parts[1]), headers, session);
  }

  private static String line(InputStream in, int[] budget) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("the connection closed before the headers ended");
      }
      if (--budget[0] < 0) {
        throw new IOException("the headers are longer than " + MAX_HEAD + " bytes");
      }
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  private static SSLContext context(List<X509Certificate> anchors) {
    try {
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      if (anchors.isEmpty()) {
        tmf.init((KeyStore) null); // the JDK's own trust store, as a browser would use its own
      } else {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (int i = 0; i < anchors.size(); i++) {
          trust.setCertificateEntry("ca-" + i, anchors.get(i));
        }
        tmf.init(trust);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build the scan's trust store: " + e.getMessage(), e);
    }
  }
}
