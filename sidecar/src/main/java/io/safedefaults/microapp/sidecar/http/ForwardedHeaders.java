package io.safedefaults.microapp.sidecar.http;

import io.vertx.core.MultiMap;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * X-Forwarded-* handling (checklist 1, 4). Forwarding headers are believed only when the TCP peer is
 * a trusted proxy (trustedProxyCidrs, default none); otherwise they are replaced, so nobody can
 * pick their own client address for rate limits or spoof the scheme or host. Path-override headers
 * (X-Original-URL, X-Rewrite-URL, X-Forwarded-Uri) are always removed: the sidecar decided on the
 * request line and the app must route on the same.
 */
public final class ForwardedHeaders {
  private static final Set<String> ALWAYS_REMOVED = Set.of(
      "x-original-url", "x-original-uri", "x-rewrite-url", "x-forwarded-uri", "x-forwarded-path");
  private static final Set<String> UNTRUSTED_REMOVED = Set.of(
      "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
      "x-forwarded-prefix", "x-forwarded-server", "x-forwarded-scheme", "x-forwarded-ssl", "x-real-ip",
      "x-client-ip", "true-client-ip", "x-cluster-client-ip", "front-end-https", "x-url-scheme");

  private final List<Cidr> trusted;
  private final String defaultProto;

  /** @param defaultProto the scheme clients use when no trusted proxy says otherwise (publicUrl's) */
  public ForwardedHeaders(List<Cidr> trusted, String defaultProto) {
    this.trusted = List.copyOf(trusted);
    this.defaultProto = defaultProto;
  }

  public boolean isTrusted(InetAddress peer) {
    return peer != null && Cidr.anyContains(trusted, peer);
  }

  /**
   * The client's address for rate limits and logs: the peer, unless the peer is a trusted proxy, in
   * which case the right-most X-Forwarded-For entry that is not itself a trusted proxy.
   */
  public String clientAddress(InetAddress peer, MultiMap headers) {
    if (!isTrusted(peer)) {
      return peer == null ? "unknown" : peer.getHostAddress();
    }
    List<String> hops = hops(headers);
    String client = peer.getHostAddress();
    for (int i = hops.size() - 1; i >= 0; i--) {
      InetAddress hop = parseLiteral(hops.get(i));
      if (hop == null) {
        break; // garbage from beyond our proxies: stop at the last hop we can vouch for
      }
      client = hop.getHostAddress();
      if (!isTrusted(hop)) {
        break;
      }
    }
    return client;
  }

  /**
   * Rewrites the request headers the app will see. The whole forwarding family (Forwarded,
   * X-Forwarded-*, X-Real-IP, True-Client-IP and the like, in any '_'/'-' spelling) is dropped and
   * rebuilt from what the sidecar verified: the client address ({@link #clientAddress}), the scheme
   * and the host, each believed from a trusted proxy only when well-formed. Nothing an untrusted
   * hop wrote reaches the app, whatever name the app's framework reads it under.
   */
  public void rewrite(MultiMap headers, InetAddress peer, String originalHost) {
    boolean trustedPeer = isTrusted(peer);
    String client = clientAddress(peer, headers);
    String priorProto = trustedPeer ? headers.get("X-Forwarded-Proto") : null;
    String priorHost = trustedPeer ? headers.get("X-Forwarded-Host") : null;
    List<String> doomed = new ArrayList<>();
    for (String name : headers.names()) {
      String n = name.toLowerCase(Locale.ROOT).replace('_', '-');
      if (ALWAYS_REMOVED.contains(n) || UNTRUSTED_REMOVED.contains(n)) {
        doomed.add(name);
      }
    }
    doomed.forEach(headers::remove);
    String peerAddress = peer == null ? "unknown" : peer.getHostAddress();
    headers.set("X-Forwarded-For", client.equals(peerAddress) ? client : client + ", " + peerAddress);
    String proto = "https".equalsIgnoreCase(priorProto) || "http".equalsIgnoreCase(priorProto)
        ? priorProto.toLowerCase(Locale.ROOT) : defaultProto;
    headers.set("X-Forwarded-Proto", proto);
    String host = priorHost != null && HOST.matcher(priorHost).matches() ? priorHost
        : originalHost != null && HOST.matcher(originalHost).matches() ? originalHost : null;
    if (host != null) {
      headers.set("X-Forwarded-Host", host);
    }
    // RFC 7239: the same facts for apps that read only Forwarded
    String forAddress = client.contains(":") ? "\"[" + client + "]\"" : client;
    headers.set("Forwarded", "for=" + forAddress + (host == null ? "" : ";host=\"" + host + "\"") + ";proto=" + proto);
  }

  /** A host name or IP literal with an optional port: nothing a header could smuggle. */
  private static final java.util.regex.Pattern HOST =
      java.util.regex.Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:[0-9]{1,5})?");

  private static List<String> hops(MultiMap headers) {
    List<String> hops = new ArrayList<>();
    for (String value : headers.getAll("X-Forwarded-For")) {
      for (String part : value.split(",")) {
        String p = part.trim();
        if (!p.isEmpty()) {
          hops.add(p);
        }
      }
    }
    return hops;
  }

  /**
   * The per-IP limit's key for a client address: an IPv4 address as it is, an IPv6 address by its
   * /64 (one subscriber's or one host's usual allocation, so cycling through the 2^64 addresses of
   * one's own prefix buys no fresh budget), an IPv4-mapped IPv6 address as the IPv4 address.
   */
  public static String rateLimitKey(String client) {
    InetAddress a = parseLiteral(client);
    if (!(a instanceof java.net.Inet6Address)) {
      return a == null ? client : a.getHostAddress();
    }
    byte[] b = a.getAddress();
    StringBuilder key = new StringBuilder();
    for (int i = 0; i < 8; i += 2) {
      key.append(Integer.toHexString(((b[i] & 0xff) << 8) | (b[i + 1] & 0xff))).append(':');
    }
    return key.append(":/64").toString();
  }

  /** Parses an IP literal without ever resolving a name. */
  static InetAddress parseLiteral(String s) {
    String v = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
    if (!v.matches("[0-9a-fA-F:.]+") || v.isEmpty()) {
      return null;
    }
    try {
      return InetAddress.getByName(v);
    } catch (Exception e) {
      return null;
    }
  }
}
