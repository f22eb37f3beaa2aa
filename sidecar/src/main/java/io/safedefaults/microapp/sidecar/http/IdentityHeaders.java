package io.safedefaults.microapp.sidecar.http;

import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.Set;

/**
 * Removes identity headers a client sent, in any case and with '_' or '-', before the sidecar adds
 * its own (checklist 1). oauth2-proxy once stripped X-Forwarded-User but not X_Forwarded_User,
 * which many app servers read as the same header.
 */
public final class IdentityHeaders {
  public static final String USER = "X-Forwarded-User";
  public static final String EMAIL = "X-Forwarded-Email";
  public static final String GROUPS = "X-Forwarded-Groups";
  public static final String PREFERRED_USERNAME = "X-Forwarded-Preferred-Username";

  private static final Set<String> SPOOFABLE = Set.of(
      "x-forwarded-user", "x-forwarded-email", "x-forwarded-groups", "x-forwarded-preferred-username",
      "x-forwarded-access-token", "x-forwarded-id-token", "x-remote-user", "remote-user", "x-user", "x-email");

  private IdentityHeaders() {}

  /** @return true for a header name that claims who the user is */
  public static boolean isIdentityHeader(String name) {
    String n = canonical(name);
    return SPOOFABLE.contains(n) || n.startsWith("x-auth-request-");
  }

  public static void strip(MultiMap headers) {
    List<String> doomed = new ArrayList<>();
    for (String name : headers.names()) {
      if (isIdentityHeader(name)) {
        doomed.add(name);
      }
    }
    doomed.forEach(headers::remove);
  }

  /**
   * The identity as headers the app can read unambiguously: values are sent as they are when they
   * hold only visible ASCII (and inner spaces); anything else, and every '%' and ',', is
   * percent-encoded UTF-8 (RFC 3986), so two different users never arrive as the same value and
   * the groups split at ',' exactly as they were. The e-mail goes only when the provider verified it.
   */
  public static void add(MultiMap headers, Identity identity) {
    headers.set(USER, encode(identity.subject()));
    if (identity.email() != null && identity.emailVerified()) {
      headers.set(EMAIL, encode(identity.email()));
    }
    if (identity.username() != null) {
      headers.set(PREFERRED_USERNAME, encode(identity.username()));
    }
    if (!identity.groups().isEmpty()) {
      headers.set(GROUPS, identity.groups().stream().map(IdentityHeaders::encode).collect(Collectors.joining(",")));
    }
  }

  static String encode(String value) {
    StringBuilder b = new StringBuilder(value.length() + 8);
    PercentEncoding.encode(value, c -> c >= 0x20 && c < 0x7f && c != '%' && c != ',', b);
    // a space at either end would be trimmed by the app's HTTP parser
    if (b.length() > 0 && b.charAt(0) == ' ') {
      b.replace(0, 1, "%20");
    }
    if (b.length() > 0 && b.charAt(b.length() - 1) == ' ') {
      b.replace(b.length() - 1, b.length(), "%20");
    }
    return b.toString();
  }

  static String canonical(String name) {
    return name.toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
