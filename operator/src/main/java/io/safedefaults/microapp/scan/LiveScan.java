package io.safedefaults.microapp.scan;

import io.safedefaults.microapp.auth.SidecarConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * Checks a deployed app from outside, as anyone on the internet sees it, against the defaults the
 * operator sets up (checklists 1, 2, 5, 7): TLS and the redirect from plain HTTP, HSTS and the
 * other headers the sidecar sends, sign-in required, a second factor asked for on admin paths,
 * nothing reachable but the sidecar. Nobody signs in: every request is anonymous, so a scan can
 * show that the doors are shut, never what is behind them.
 */
public final class LiveScan {
  /** A browser's navigation: the sidecar sends such a request to the provider to sign in. */
  static final String BROWSER = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";
  /** An API client: the sidecar answers it 401. */
  static final String API = "application/json";

  // before HSTS_MAX_AGE, which parses with it
  private static final Pattern MAX_AGE = Pattern.compile("^max-age\\s*=\\s*\"?([0-9]{1,12})\"?$", Pattern.CASE_INSENSITIVE);
  /** The HSTS max-age the operator configures (one source: the sidecar configuration it renders). */
  public static final long HSTS_MAX_AGE = hstsMaxAge(SidecarConfig.HSTS);
  static final boolean HSTS_SUBDOMAINS = SidecarConfig.HSTS.toLowerCase(Locale.ROOT).contains("includesubdomains");

  /**
   * The fixed-value headers the sidecar sets on every answer (sidecar SecureHeaders; LiveScanContractTest
   * reads that class and keeps the two equal). Content-Security-Policy is configurable, so only its presence is checked.
   */
  static final Map<String, String> SIDECAR_HEADERS = Map.of(
      "X-Content-Type-Options", "nosniff",
      "Referrer-Policy", "strict-origin-when-cross-origin",
      "X-Frame-Options", "DENY");
  /** Referrer policies at least as strict as the sidecar's. */
  static final Set<String> STRICT_REFERRER = Set.of("no-referrer", "same-origin", "strict-origin",
      "strict-origin-when-cross-origin");
  /** Certificates closer than this to their end get a warning: renewal should have happened by then. */
  static final Duration RENEWAL_MARGIN = Duration.ofDays(14);


  private final ScanTarget target;
  private final ScanHttp http;

  public LiveScan(ScanTarget target) {
    this.target = target;
    this.http = new ScanHttp(target);
  }

  public static boolean failed(List<Finding> findings) {
    return findings.stream().anyMatch(f -> f.outcome() == Finding.Outcome.FAIL);
  }

  public List<Finding> run() {
    List<Finding> out = new ArrayList<>();
    ScanHttp.Answer root = null;
    try {
      root = http.https("/", BROWSER);
      out.add(tls(root));
    } catch (IOException e) {
      out.add(tlsFailure(e));
    }
    out.add(redirect());
    if (root == null) {
      for (String c : List.of("hsts", "headers", "sign-in", "mfa")) {
        out.add(Finding.skip(c, "not checked: the HTTPS connection failed (see tls)"));
      }
    } else {
      out.add(hsts(root));
      out.addAll(headers(root));
      out.add(signIn(root));
      out.addAll(mfa());
    }
    for (ScanTarget.Address a : target.closed()) {
      out.add(closed(a));
    }
    return out;
  }

  // ---- TLS -------------------------------------------------------------------------------------

  private Finding tls(ScanHttp.Answer a) throws IOException {
    String protocol = a.tls().getProtocol();
    if (!List.of("TLSv1.2", "TLSv1.3").contains(protocol)) {
      return Finding.fail("tls", "the connection used " + protocol + ", older than TLS 1.2",
          "Allow only TLS 1.2 and 1.3 on the ingress controller or load balancer in front of the app.");
    }
    X509Certificate leaf = (X509Certificate) a.tls().getPeerCertificates()[0];
    Instant end = leaf.getNotAfter().toInstant();
    String detail = protocol + ", a certificate for " + target.host() + " valid until " + end + ", chain trusted by "
        + (target.trust().isEmpty() ? "the JDK's trust store" : "--ca-file");
    if (Instant.now().plus(RENEWAL_MARGIN).isAfter(end)) {
      return Finding.warn("tls", detail + ": it ends in less than " + RENEWAL_MARGIN.toDays() + " days",
          "Renew the certificate now; with cert-manager, look at the Certificate's events for why renewal did not happen.");
    }
    return Finding.pass("tls", detail);
  }

  private Finding tlsFailure(IOException e) {
    String where = target.host() + " (" + target.connectTo() + ":" + target.httpsPort() + ")";
    if (unreachable(e)) {
      return Finding.fail("tls", "nothing answers HTTPS at " + where + ": " + e.getMessage(),
          "Check that the app has an address (spec.host and its DNS record) and that the ingress controller listens"
              + " on port " + target.httpsPort() + ".");
    }
    if (has(e, CertificateExpiredException.class) || has(e, CertificateNotYetValidException.class)) {
      return Finding.fail("tls", "the certificate of " + where + " is expired or not yet valid",
          "Renew the certificate; with cert-manager, look at the Certificate's events for why renewal failed.");
    }
    String m = messages(e).toLowerCase(Locale.ROOT);
    if (m.contains("subject alternative") || m.contains("no name matching") || m.contains("does not match")) {
      return Finding.fail("tls", "the certificate does not name " + target.host(),
          "Issue the certificate for " + target.host() + ": the Ingress's tls section must list this host (the"
              + " operator sets it from spec.host).");
    }
    if (has(e, CertPathValidatorException.class) || m.contains("pkix") || m.contains("certification path")) {
      return Finding.fail("tls", "the certificate chain of " + where + " does not lead to "
              + (target.trust().isEmpty() ? "a CA in the JDK's trust store" : "a CA of --ca-file"),
          "Serve a certificate from a CA your users trust, with its intermediate certificates; for an internal CA,"
              + " pass its certificate with --ca-file.");
    }
    if (m.contains("protocol")) {
      return Finding.fail("tls", "no TLS 1.2 or 1.3 handshake with " + where + " (" + oneLine(e) + ")",
          "Allow TLS 1.2 and 1.3 on the ingress controller or load balancer in front of the app.");
    }
    if (e instanceof SSLHandshakeException || e instanceof SSLPeerUnverifiedException || e instanceof SSLException) {
      return Finding.fail("tls", "the TLS handshake with " + where + " failed (" + oneLine(e) + ")",
          "Check the certificate and TLS settings of the ingress controller in front of the app.");
    }
    return Finding.fail("tls", "HTTPS at " + where + " gave no HTTP answer (" + oneLine(e) + ")",
        "Check that the ingress controller in front of the app answers HTTPS for " + target.host() + ".");
  }

  // ---- redirect from plain HTTP -----------------------------------------------------------------

  private Finding redirect() {
    ScanHttp.Answer a;
    try {
      a = http.http("/", BROWSER);
    } catch (IOException e) {
      if (unreachable(e)) {
        return Finding.warn("redirect", "nothing answers plain HTTP on port " + target.httpPort()
                + ", so there is nothing to leak, but people who type the name without https:// get an error",
            "Let the ingress controller listen on port " + target.httpPort() + " and redirect to HTTPS.");
      }
      return Finding.fail("redirect", "plain HTTP on port " + target.httpPort() + " gave no HTTP answer ("
          + oneLine(e) + ")", "Let the ingress controller answer plain HTTP with a redirect to HTTPS.");
    }
    String location = a.header("location").orElse(null);
    boolean redirect = Set.of(301, 302, 303, 307, 308).contains(a.status());
    if (redirect && location != null && sameOriginHttps(location)) {
      return Finding.pass("redirect", "plain HTTP answers " + a.status() + " to " + target.origin() + "/");
    }
    if (redirect) {
      return Finding.fail("redirect", "plain HTTP answers " + a.status() + " to " + shown(location)
              + " instead of the same address over HTTPS",
          "Make plain HTTP redirect to https://" + target.hostInUrl() + "/ (the operator's Ingress asks the ingress"
              + " controller for it; check that the controller honours its ssl-redirect annotation).");
    }
    return Finding.fail("redirect", "plain HTTP answers " + a.status() + " instead of redirecting to HTTPS: what"
            + " people send there travels unencrypted",
        "Make plain HTTP redirect to https://" + target.hostInUrl() + "/ (the operator's Ingress asks the ingress"
            + " controller for it; check that the controller honours its ssl-redirect annotation).");
  }

  private boolean sameOriginHttps(String location) {
    try {
      URI u = new URI(location);
      int port = u.getPort() < 0 ? 443 : u.getPort();
      return "https".equalsIgnoreCase(u.getScheme()) && target.host().equalsIgnoreCase(bare(u.getHost()))
          && port == target.httpsPort() && (u.getRawPath() == null || u.getRawPath().isEmpty()
          || u.getRawPath().equals("/"));
    } catch (URISyntaxException e) {
      return false;
    }
  }

  // ---- headers ---------------------------------------------------------------------------------

  private Finding hsts(ScanHttp.Answer a) {
    String fix = "Send 'Strict-Transport-Security: " + SidecarConfig.HSTS + "' on every HTTPS answer: the sidecar"
        + " does; if it is missing, something in front of the sidecar strips or replaces it.";
    List<String> values = a.all("strict-transport-security");
    if (values.isEmpty()) {
      return Finding.fail("hsts", "no Strict-Transport-Security header: browsers may be sent to plain HTTP later", fix);
    }
    long maxAge = -1;
    boolean subdomains = false;
    for (String directive : values.get(0).split(";")) {
      String d = directive.trim();
      Matcher m = MAX_AGE.matcher(d);
      if (m.matches()) {
        if (maxAge >= 0) {
          return Finding.fail("hsts", "Strict-Transport-Security repeats max-age, so browsers ignore it", fix);
        }
        maxAge = Long.parseLong(m.group(1));
      } else if (d.equalsIgnoreCase("includeSubDomains")) {
        subdomains = true;
      }
    }
    if (maxAge < 0) {
      return Finding.fail("hsts", "Strict-Transport-Security has no valid max-age, so browsers ignore it", fix);
    }
    if (maxAge < HSTS_MAX_AGE) {
      return Finding.fail("hsts", "Strict-Transport-Security max-age=" + maxAge + " is shorter than the default "
          + HSTS_MAX_AGE + " seconds (" + Duration.ofSeconds(HSTS_MAX_AGE).toDays() + " days)", fix);
    }
    if (HSTS_SUBDOMAINS && !subdomains) {
      return Finding.warn("hsts", "Strict-Transport-Security max-age=" + maxAge + " without includeSubDomains", fix);
    }
    return Finding.pass("hsts", "Strict-Transport-Security max-age=" + maxAge + (subdomains ? "; includeSubDomains" : ""));
  }

  private List<Finding> headers(ScanHttp.Answer a) {
    String front = " The sidecar sends it on every answer; if it is missing, something in front of the sidecar"
        + " strips it, or the answer did not come from the sidecar.";
    List<Finding> out = new ArrayList<>();
    String nosniff = a.header("x-content-type-options").orElse(null);
    out.add("nosniff".equalsIgnoreCase(nosniff)
        ? Finding.pass("x-content-type-options", "X-Content-Type-Options: nosniff")
        : Finding.fail("x-content-type-options", nosniff == null ? "no X-Content-Type-Options header"
                : "X-Content-Type-Options is '" + shown(nosniff) + "', not nosniff",
            "Send 'X-Content-Type-Options: nosniff' so browsers do not run uploads or text as scripts." + front));
    String referrer = a.header("referrer-policy").orElse(null);
    out.add(referrer != null && STRICT_REFERRER.contains(lastPolicy(referrer))
        ? Finding.pass("referrer-policy", "Referrer-Policy: " + shown(referrer))
        : Finding.fail("referrer-policy", referrer == null ? "no Referrer-Policy header"
                : "Referrer-Policy '" + shown(referrer) + "' sends full addresses to other sites",
            "Send 'Referrer-Policy: strict-origin-when-cross-origin' so addresses with personal data in them do"
                + " not leak to other sites." + front));
    String frame = a.header("x-frame-options").orElse(null);
    boolean frameAncestors = a.all("content-security-policy").stream()
        .anyMatch(v -> v.toLowerCase(Locale.ROOT).matches(".*frame-ancestors\\s+'none'.*"));
    out.add("DENY".equalsIgnoreCase(frame) || frameAncestors
        ? Finding.pass("x-frame-options", frame != null ? "X-Frame-Options: " + shown(frame) : "frame-ancestors 'none'")
        : Finding.fail("x-frame-options", frame == null ? "no X-Frame-Options header"
                : "X-Frame-Options is '" + shown(frame) + "', not DENY",
            "Send 'X-Frame-Options: DENY' so other sites cannot frame the app and trick people into clicks." + front));
    out.add(a.all("content-security-policy").isEmpty()
        ? Finding.fail("content-security-policy", "no Content-Security-Policy header",
            "Send a Content-Security-Policy (the sidecar's default allows only the app's own scripts)." + front)
        : Finding.pass("content-security-policy", "Content-Security-Policy present"));
    out.add(a.header("x-powered-by").isPresent()
        ? Finding.warn("x-powered-by", "X-Powered-By: " + shown(a.header("x-powered-by").get())
                + " tells attackers which software to try exploits against",
            "Drop the X-Powered-By header (the sidecar removes it from the app's answers).")
        : Finding.pass("x-powered-by", "no X-Powered-By header"));
    return out;
  }

  private static String lastPolicy(String referrer) {
    // Browsers use the last policy they understand in a comma-separated list.
    String[] parts = referrer.split(",");
    return parts[parts.length - 1].trim().toLowerCase(Locale.ROOT);
  }

  // ---- sign-in and MFA -------------------------------------------------------------------------

  private Finding signIn(ScanHttp.Answer browser) {
    ScanHttp.Answer api;
    try {
      api = http.https("/", API);
    } catch (IOException e) {
      return Finding.fail("sign-in", "the second request to / failed (" + oneLine(e) + ")",
          "Check that the app answers steadily over HTTPS, then scan again.");
    }
    String detail = "anonymous browser: " + describe(browser) + "; API client: " + describe(api);
    boolean open = browser.status() / 100 == 2 || api.status() / 100 == 2;
    if (open && target.publicApp()) {
      return Finding.warn("sign-in", detail + " (the app is public by a justified override)",
          "Nothing to do if the app holds no personal data; otherwise remove the visibility override.");
    }
    if (open) {
      return Finding.fail("sign-in", detail + ": the app answers without anyone signing in",
          "Keep the app private (spec.visibility: private, the default) and let only the sidecar's port be reached:"
              + " the MicroApp's Service and Ingress go to the sidecar, never straight to the app.");
    }
    if (!refuses(browser) || !refuses(api)) {
      return Finding.fail("sign-in", detail + ": neither a sign-in redirect nor 401/403, so sign-in could not be"
          + " confirmed", "Check that the app runs (kubectl get microapp shows Ready) and scan again.");
    }
    return Finding.pass("sign-in", detail);
  }

  private List<Finding> mfa() {
    if (target.adminPaths().isEmpty()) {
      return List.of(Finding.skip("mfa", "no admin paths to check: give them with --admin-path or --app"));
    }
    List<Finding> out = new ArrayList<>();
    for (String pattern : target.adminPaths()) {
      String path = ScanTarget.probe(pattern);
      String check = "mfa " + path;
      ScanHttp.Answer a;
      try {
        a = http.https(path, BROWSER);
      } catch (IOException e) {
        out.add(Finding.fail(check, "the request failed (" + oneLine(e) + ")", "Scan again once the app answers."));
        continue;
      }
      String fix = "Require a second factor on " + pattern + ": keep it in spec.auth.adminPaths and remove any 'mfa'"
          + " override, so the sidecar asks the provider for a fresh multi-factor sign-in there.";
      if (a.status() / 100 == 3 && a.header("location").isPresent()) {
        Map<String, String> q = query(a.header("location").get());
        List<String> asks = new ArrayList<>();
        if ("login".equals(q.get("prompt"))) {
          asks.add("prompt=login");
        }
        if ("0".equals(q.get("max_age"))) {
          asks.add("max_age=0");
        }
        if (q.containsKey("acr_values")) {
          asks.add("acr_values=" + shown(q.get("acr_values")));
        }
        out.add(asks.isEmpty()
            ? Finding.fail(check, "sends to an ordinary sign-in (" + shown(withoutQuery(a.header("location").get()))
                + ") that does not ask for a second factor", fix)
            : Finding.pass(check, "sends to a fresh sign-in with a second factor (" + String.join(", ", asks) + ")"));
      } else if (a.status() == 401 || a.status() == 403) {
        boolean stepUp = a.all("www-authenticate").stream().anyMatch(v -> v.contains("insufficient_user_authentication"));
        out.add(stepUp
            ? Finding.pass(check, a.status() + " asking for a multi-factor sign-in")
            : Finding.warn(check, a.status() + " to an anonymous browser: refused, but whether a second factor is"
                + " required cannot be seen from outside", "Sign in once and open " + path + ": it must ask for a"
                + " second factor."));
      } else if (a.status() / 100 == 2) {
        out.add(Finding.fail(check, a.status() + ": opens without any sign-in", fix));
      } else {
        out.add(Finding.fail(check, "answers " + a.status() + ", neither a sign-in nor a refusal", fix));
      }
    }
    return out;
  }

  // ---- nothing but the sidecar -----------------------------------------------------------------

  private Finding closed(ScanTarget.Address a) {
    String check = "closed " + a;
    if (ScanHttp.accepts(a, (int) Math.min(target.timeout().toMillis(), 3_000))) {
      return Finding.fail(check, a + " accepts connections from here",
          "Only the sidecar may be reached, and only through the ingress: do not publish the app's port (no hostPort,"
              + " NodePort or LoadBalancer Service for it) and keep the app's NetworkPolicy in place.");
    }
    return Finding.pass(check, a + " refuses connections or is unreachable from here");
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private static boolean refuses(ScanHttp.Answer a) {
    return a.status() == 401 || a.status() == 403 || (a.status() / 100 == 3 && a.header("location").isPresent());
  }

  private static String describe(ScanHttp.Answer a) {
    return a.status() / 100 == 3 && a.header("location").isPresent()
        ? a.status() + " to " + shown(withoutQuery(a.header("location").get()))
        : String.valueOf(a.status());
  }

  /** The location without its query: sign-in redirects carry state and nonce, which have no place in a report. */
  static String withoutQuery(String location) {
    int q = location.indexOf('?');
    int h = location.indexOf('#');
    int end = q < 0 ? h : h < 0 ? q : Math.min(q, h);
    return end < 0 ? location : location.substring(0, end);
  }

  private static Map<String, String> query(String location) {
    Map<String, String> out = new LinkedHashMap<>();
    try {
      String raw = new URI(location).getRawQuery();
      for (String pair : raw == null ? new String[0] : raw.split("&")) {
        int eq = pair.indexOf('=');
        String k = java.net.URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), java.nio.charset.StandardCharsets.UTF_8);
        String v = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), java.nio.charset.StandardCharsets.UTF_8);
        out.putIfAbsent(k, v);
      }
    } catch (URISyntaxException | IllegalArgumentException e) {
      return out;
    }
    return out;
  }

  private static String bare(String host) {
    return host == null ? "" : host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
  }

  private static String shown(String s) {
    return s == null ? "(none)" : ScanTarget.printable(s);
  }

  private static boolean unreachable(IOException e) {
    return e instanceof ConnectException || e instanceof NoRouteToHostException || e instanceof UnknownHostException
        || (e instanceof SocketTimeoutException && e.getMessage() != null && e.getMessage().contains("connect"));
  }

  private static boolean has(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String messages(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      b.append(' ').append(t.getMessage());
    }
    return b.toString();
  }

  private static String oneLine(Throwable e) {
    return ScanTarget.printable(String.valueOf(e.getMessage()));
  }

  static long hstsMaxAge(String hsts) {
    for (String d : hsts.split(";")) {
      Matcher m = MAX_AGE.matcher(d.trim());
      if (m.matches()) {
        return Long.parseLong(m.group(1));
      }
    }
    throw new IllegalStateException("no max-age in " + hsts);
  }
}
