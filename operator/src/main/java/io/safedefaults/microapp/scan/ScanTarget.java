package io.safedefaults.microapp.scan;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a live scan looks at, parsed from the command line in one place and strictly: anything
 * this class does not accept is refused with a sentence naming the option and the fix, before a
 * single connection is made. Values are raw strings on purpose, so every message is ours.
 *
 * @param host        the app's host name (or IP literal), as in its URL; also the TLS SNI and the name the
 *                    certificate must carry
 * @param httpsPort   the HTTPS port of the URL (443 unless given)
 * @param httpPort    where plain HTTP is tried for the redirect (80 unless given)
 * @param connectTo   the address connections go to instead of resolving {@code host} (e.g. an ingress
 *                    controller's address before DNS points at it); {@code host} when not given
 * @param trust       the CA certificates the site's chain must lead to; empty: the JDK's default trust store
 * @param adminPaths  the app's admin path patterns ({@code /admin/**}) whose probes must ask for MFA
 * @param publicApp   the app is public by a justified override: / answering without sign-in is a warning
 * @param closed      addresses that must not accept connections (the app's own port from outside)
 * @param timeout     connect and read timeout of each request
 */
public record ScanTarget(String host, int httpsPort, int httpPort, String connectTo, List<X509Certificate> trust,
    List<String> adminPaths, boolean publicApp, List<Address> closed, Duration timeout) {

  /** A host and a TCP port. */
  public record Address(String host, int port) {
    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  private static final Pattern DNS_NAME =
      Pattern.compile("^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$");
  private static final Pattern IPV4 =
      Pattern.compile("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$");
  private static final Pattern IPV6 = Pattern.compile("^[0-9a-f:.]{2,45}$");
  /** What MicroApp spec.auth.adminPaths accepts (AuthSpec): plain segments, '*' whole, '**' last. */
  private static final Pattern ADMIN_PATH = Pattern.compile(
      "^(/([*]|[\\x21\\x22\\x24\\x26-\\x29\\x2b-\\x2e\\x30-\\x3a\\x3c-\\x3e\\x40-\\x5b\\x5d-\\x7e]+))*(/[*][*])?/?$");
  private static final Pattern DOT_SEGMENT = Pattern.compile("(^|/)\\.\\.?(/|$)");
  private static final Pattern ADDRESS = Pattern.compile("^(?:\\[([^\\]]+)]|([^:\\[\\]]+)):([0-9]{1,5})$");

  public ScanTarget {
    trust = List.copyOf(trust);
    adminPaths = List.copyOf(adminPaths);
    closed = List.copyOf(closed);
  }

  /**
   * @param url        https://HOST[:PORT][/]
   * @param httpPort   null for 80
   * @param connectTo  null to resolve the host
   * @param caFile     null for the JDK's trust store
   * @param timeout    seconds, null for 10
   */
  public static ScanTarget parse(String url, String httpPort, String connectTo, Path caFile, List<String> adminPaths,
      boolean publicApp, List<String> closed, String timeout) {
    if (url == null || url.isEmpty() || url.length() > 2048) {
      throw new IllegalArgumentException("URL: give the app's address such as https://where2eat.apps.example.com");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("URL: '" + printable(url) + "' is not a URL (" + e.getReason()
          + "); give the app's address such as https://where2eat.apps.example.com");
    }
    if (!"https".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException("URL: '" + printable(url) + "' must start with https:// (the scan tries"
          + " plain HTTP by itself, for the redirect)");
    }
    if (uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException("URL: remove the user name or password from '" + printable(url)
          + "'; the scan signs in as nobody");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null
        || !(uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))) {
      throw new IllegalArgumentException("URL: give the app's root such as https://" + hostOf(uri)
          + "/ without a path, query or fragment; admin paths go in --admin-path");
    }
    String host = hostOf(uri);
    if (host == null) {
      throw new IllegalArgumentException("URL: '" + printable(url) + "' has no valid host name; give one such as"
          + " https://where2eat.apps.example.com");
    }
    host = host.toLowerCase(Locale.ROOT);
    if (host.startsWith("[")) {
      host = host.substring(1, host.length() - 1);
    }
    if (!isHost(host)) {
      throw new IllegalArgumentException("URL: '" + printable(host) + "' is not a host name (lower-case letters,"
          + " digits, '-' and '.') nor an IP address");
    }
    int httpsPort = uri.getPort() < 0 ? 443 : uri.getPort();
    if (httpsPort < 1 || httpsPort > 65535) {
      throw new IllegalArgumentException("URL: port " + httpsPort + " is not between 1 and 65535");
    }
    int plainPort = httpPort == null ? 80 : port("--http-port", httpPort);
    String via = connectTo == null ? host : connectTo.trim().toLowerCase(Locale.ROOT);
    if (connectTo != null && !isHost(via)) {
      throw new IllegalArgumentException("--connect-to: '" + printable(connectTo) + "' is not an IP address or host"
          + " name, e.g. 203.0.113.10");
    }
    List<String> paths = new ArrayList<>();
    for (String p : adminPaths == null ? List.<String>of() : adminPaths) {
      if (p == null || p.length() > 256 || !ADMIN_PATH.matcher(p).matches() || DOT_SEGMENT.matcher(p).find()) {
        throw new IllegalArgumentException("--admin-path: '" + printable(String.valueOf(p)) + "' is not a path"
            + " pattern as in spec.auth.adminPaths: start with '/', printable ASCII without spaces, ?, #, %, ;"
            + " or backslash, '*' only as a whole segment and '**' only at the end, e.g. /admin/**");
      }
      if (!paths.contains(p)) {
        paths.add(p);
      }
    }
    List<Address> shut = new ArrayList<>();
    for (String a : closed == null ? List.<String>of() : closed) {
      Matcher m = ADDRESS.matcher(a == null ? "" : a.trim().toLowerCase(Locale.ROOT));
      String h = !m.matches() ? null : m.group(1) != null ? m.group(1) : m.group(2);
      if (h == null || !isHost(h)) {
        throw new IllegalArgumentException("--closed: '" + printable(String.valueOf(a)) + "' is not HOST:PORT such"
            + " as 203.0.113.10:8080 (IPv6 as [2001:db8::1]:8080)");
      }
      shut.add(new Address(h, port("--closed", m.group(3))));
    }
    int seconds = timeout == null ? 10 : integer("--timeout", timeout, 1, 120, "seconds between 1 and 120");
    return new ScanTarget(host, httpsPort, plainPort, via, caFile == null ? List.of() : certificates(caFile), paths,
        publicApp, shut, Duration.ofSeconds(seconds));
  }

  /** The address people type, without the default port. */
  public String origin() {
    return "https://" + hostInUrl() + (httpsPort == 443 ? "" : ":" + httpsPort);
  }

  String hostInUrl() {
    return host.contains(":") ? "[" + host + "]" : host;
  }

  /**
   * A path the pattern matches, to ask for without signing in: {@code /admin/**} gives /admin,
   * each {@code *} segment becomes {@code scan}.
   */
  static String probe(String pattern) {
    String p = pattern.endsWith("/**") ? pattern.substring(0, pattern.length() - 3) : pattern;
    p = p.replaceAll("(?<=/)\\*(?=/|$)", "scan");
    return p.isEmpty() ? "/" : p;
  }

  private static String hostOf(URI uri) {
    if (uri.getHost() != null) {
      return uri.getHost();
    }
    return null;
  }

  static boolean isHost(String h) {
    // a name of digits and dots only is an IPv4 address or nothing (no top-level domain is numeric)
    return (DNS_NAME.matcher(h).matches() && !h.matches("[0-9.]+")) || IPV4.matcher(h).matches()
        || (h.contains(":") && IPV6.matcher(h).matches() && isIpv6(h));
  }

  static boolean isIpLiteral(String h) {
    return IPV4.matcher(h).matches() || h.contains(":");
  }

  private static boolean isIpv6(String h) {
    try {
      return java.net.InetAddress.getByName("[" + h + "]") instanceof java.net.Inet6Address; // a literal: no lookup
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private static int port(String option, String value) {
    return integer(option, value, 1, 65535, "a port between 1 and 65535");
  }

  private static int integer(String option, String value, int min, int max, String what) {
    String v = value.trim();
    if (!v.matches("[0-9]{1,6}") || Integer.parseInt(v) < min || Integer.parseInt(v) > max) {
      throw new IllegalArgumentException(option + ": '" + printable(value) + "' is not " + what);
    }
    return Integer.parseInt(v);
  }

  private static List<X509Certificate> certificates(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      List<X509Certificate> certs = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        certs.add((X509Certificate) c);
      }
      if (certs.isEmpty()) {
        throw new IllegalArgumentException("--ca-file: " + file + " holds no certificate; give the PEM of the CA"
            + " that signs the app's certificate");
      }
      return certs;
    } catch (IOException e) {
      throw new IllegalArgumentException("--ca-file: cannot read " + file + " (" + e.getMessage() + ")");
    } catch (CertificateException e) {
      throw new IllegalArgumentException("--ca-file: " + file + " is not a PEM certificate bundle ("
          + e.getMessage() + ")");
    }
  }

  /** Echoes outside input in messages without control characters. */
  static String printable(String s) {
    String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
    return t.replaceAll("[\\p{Cntrl}\\u2028\\u2029]", "?");
  }
}
