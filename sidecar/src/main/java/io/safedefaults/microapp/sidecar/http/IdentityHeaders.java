package io.safedefaults.microapp.sidecar.http;

import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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

  public static void add(MultiMap headers, Identity identity) {
    headers.set(USER, identity.subject());
    if (identity.email() != null) {
      headers.set(EMAIL, identity.email());
    }
    if (identity.username() != null) {
      headers.set(PREFERRED_USERNAME, identity.username());
    }
    if (!identity.groups().isEmpty()) {
      headers.set(GROUPS, String.join(",", identity.groups()));
    }
  }

  static String canonical(String name) {
    return name.toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
