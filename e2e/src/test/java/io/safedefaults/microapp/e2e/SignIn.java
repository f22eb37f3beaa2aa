package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A browser's sign-in, request by request, through the ingress controller: the app's sidecar sends
 * an anonymous visitor to the in-cluster provider (mock-oauth2-server at
 * https://login.example.com/realms/acme), whose login form takes a user name and a JSON of claims;
 * the provider sends the browser back to the sidecar's callback, which sets the session cookie.
 * Cookies are kept per host, as a browser does; nothing here reaches around the TLS edge.
 */
public final class SignIn {

  private final IngressHttp http;
  private final Map<String, Map<String, String>> cookies = new LinkedHashMap<>();
  private final List<Exchange> history = new ArrayList<>();

  /** One request of the flow: where it went and what came back. */
  public record Exchange(String url, IngressHttp.Response response) {}

  public SignIn(IngressHttp http) {
    this.http = http;
  }

  /** Every request and answer so far, in order (for assertions on headers of each step). */
  public List<Exchange> history() {
    return history;
  }

  /** A GET as a browser sends it (Accept: text/html), with this browser's cookies for the host. */
  public IngressHttp.Response browse(String url, String... extraHeaders) {
    return send("GET", url, null, concat(extraHeaders, "Accept: text/html"));
  }

  public IngressHttp.Response send(String method, String url, String body, String... headers) {
    String host = URI.create(url).getHost();
    List<String> all = new ArrayList<>(List.of(headers));
    Map<String, String> jar = cookies.getOrDefault(host, Map.of());
    if (!jar.isEmpty()) {
      all.add("Cookie: " + String.join("; ", jar.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()));
    }
    IngressHttp.Response r = http.send(method, url, body, all.toArray(String[]::new));
    for (String set : r.headers("set-cookie")) {
      String pair = set.split(";", 2)[0];
      int eq = pair.indexOf('=');
      String value = pair.substring(eq + 1);
      Map<String, String> hostJar = cookies.computeIfAbsent(host, h -> new LinkedHashMap<>());
      if (value.isEmpty() || set.toLowerCase().contains("max-age=0")) {
        hostJar.remove(pair.substring(0, eq));
      } else {
        hostJar.put(pair.substring(0, eq), value);
      }
    }
    history.add(new Exchange(url, r));
    return r;
  }

  public Map<String, String> cookies(String host) {
    return cookies.getOrDefault(host, Map.of());
  }

  /**
   * Opens {@code url}; when the sidecar sends the browser to the provider, signs in there as
   * {@code user} with {@code claimsJson} and follows the way back. Returns the final answer for
   * {@code url}, or the sidecar's answer to the callback when it refuses the sign-in.
   */
  public IngressHttp.Response open(String url, String user, String claimsJson) {
    IngressHttp.Response r = browse(url);
    if (r.status() != 302 || !r.header("location").orElse("").startsWith("https://login.example.com/")) {
      return r;
    }
    String authorize = r.header("location").orElseThrow();
    IngressHttp.Response form = browse(authorize);
    assertThat(form.status()).as("the provider's login page: %s", form).isEqualTo(200);
    assertThat(form.body()).contains("name=\"username\"");
    IngressHttp.Response back = send("POST", authorize, "username=" + enc(user) + "&claims=" + enc(claimsJson),
        "Content-Type: application/x-www-form-urlencoded", "Accept: text/html");
    assertThat(back.status()).as("the provider sends the browser back with a code: %s", back).isEqualTo(302);
    String callback = back.header("location").orElseThrow();
    assertThat(callback).startsWith("https://" + URI.create(url).getHost() + "/oauth2/callback?");
    IngressHttp.Response landed = browse(callback);
    if (landed.status() >= 400) {
      return landed; // the sidecar refused the sign-in itself (no allowed group, no second factor)
    }
    // the sidecar answers the callback with a same-site page that sends the browser on (meta refresh)
    assertThat(landed.status()).as("the callback: %s", landed).isIn(200, 302, 303);
    return browse(url);
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static String[] concat(String[] a, String b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + 1);
    r[a.length] = b;
    return r;
  }
}
