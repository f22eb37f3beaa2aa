package io.safedefaults.microapp.sidecar.support;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * A minimal browser (HTTP, and HTTPS to a provider): sends Accept: text/html, keeps cookies per
 * host:port (Secure cookies too, as a browser does for localhost), follows 302s and meta
 * refreshes, and records every Set-Cookie header it saw so tests can check the flags.
 */
public final class Browser {
  private static final Pattern META_REFRESH = Pattern.compile("http-equiv=\"refresh\" content=\"0;url=([^\"]+)\"");
  private final HttpClient http;
  private final Map<String, Map<String, String>> cookies = new LinkedHashMap<>();
  public final List<String> setCookies = new ArrayList<>();
  public final List<URI> visited = new ArrayList<>();

  public Browser() {
    this(null);
  }

  /** @param tls what this browser trusts for https:// pages (the provider's CA); null: the JVM's defaults */
  public Browser(SSLContext tls) {
    HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5));
    http = (tls == null ? b : b.sslContext(tls)).build();
  }

  public HttpResponse<String> get(String url) throws Exception {
    return follow(send("GET", URI.create(url), null), 10);
  }

  /** One request, no redirects followed. */
  public HttpResponse<String> send(String method, URI uri, String formBody) throws Exception {
    visited.add(uri);
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
        .header("Accept", "text/html,application/xhtml+xml");
    String cookie = cookieHeader(uri);
    if (!cookie.isEmpty()) {
      b.header("Cookie", cookie);
    }
    if (!method.equals("GET") && !method.equals("HEAD")) {
      // as browsers do for every such request from a page of the app itself
      b.header("Origin", uri.getScheme() + "://" + uri.getAuthority());
    }
    if (formBody != null) {
      b.header("Content-Type", "application/x-www-form-urlencoded").method(method, HttpRequest.BodyPublishers.ofString(formBody));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> rsp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    for (String sc : rsp.headers().allValues("Set-Cookie")) {
      setCookies.add(sc);
      store(uri, sc);
    }
    return rsp;
  }

  public HttpResponse<String> follow(HttpResponse<String> rsp, int hops) throws Exception {
    HttpResponse<String> current = rsp;
    for (int i = 0; i < hops; i++) {
      URI base = current.uri();
      if (current.statusCode() == 302 || current.statusCode() == 303) {
        String loc = current.headers().firstValue("Location").orElseThrow();
        current = send("GET", base.resolve(loc), null);
        continue;
      }
      Matcher m = META_REFRESH.matcher(current.body());
      if (current.statusCode() == 200 && m.find()) {
        current = send("GET", base.resolve(m.group(1).replace("&amp;", "&")), null);
        continue;
      }
      return current;
    }
    return current;
  }

  /** Submits the provider's login form (shown on prompt=login) as the user would. */
  public HttpResponse<String> submitLogin(URI authorizeUrl, String username, String claimsJson) throws Exception {
    String form = "username=" + URLEncoder.encode(username, StandardCharsets.UTF_8)
        + "&claims=" + URLEncoder.encode(claimsJson, StandardCharsets.UTF_8);
    return follow(send("POST", authorizeUrl, form), 10);
  }

  public String cookie(URI uri, String name) {
    return cookies.getOrDefault(key(uri), Map.of()).get(name);
  }

  public void setCookie(URI uri, String name, String value) {
    cookies.computeIfAbsent(key(uri), k -> new LinkedHashMap<>()).put(name, value);
  }

  private void store(URI uri, String setCookie) {
    String pair = setCookie.split(";", 2)[0];
    int eq = pair.indexOf('=');
    String name = pair.substring(0, eq).trim();
    String value = pair.substring(eq + 1).trim();
    Map<String, String> jar = cookies.computeIfAbsent(key(uri), k -> new LinkedHashMap<>());
    if (value.isEmpty() || setCookie.contains("Max-Age=0")) {
      jar.remove(name);
    } else {
      jar.put(name, value);
    }
  }

  private String cookieHeader(URI uri) {
    StringBuilder b = new StringBuilder();
    cookies.getOrDefault(key(uri), Map.of()).forEach((k, v) -> {
      if (b.length() > 0) {
        b.append("; ");
      }
      b.append(k).append('=').append(v);
    });
    return b.toString();
  }

  private static String key(URI uri) {
    return uri.getHost() + ":" + uri.getPort();
  }
}
