package io.safedefaults.microapp.sidecar.session;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * The sidecar's two cookies and their flags (checklist 3). Both are {@code __Host-} prefixed, so the
 * browser refuses them unless Secure, Path=/ and without Domain: no sibling subdomain can set or
 * overwrite them. The session cookie is SameSite=Strict; the login-state cookie is SameSite=Lax
 * because it must come back on the provider's cross-site redirect to the callback.
 */
public final class CookieJar {
  public static final String SESSION = "__Host-microapp-session";
  public static final String LOGIN = "__Host-microapp-login";
  public static final int MAX_COOKIE_BYTES = 4000;
  public static final long LOGIN_TTL_SECONDS = 600;

  private static final ObjectMapper JSON = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  private final CookieSealer sealer;
  private final long sessionTtlSeconds;
  private final Clock clock;

  public CookieJar(CookieSealer sealer, long sessionTtlSeconds, Clock clock) {
    this.sealer = sealer;
    this.sessionTtlSeconds = sessionTtlSeconds;
    this.clock = clock;
  }

  public long sessionTtlSeconds() {
    return sessionTtlSeconds;
  }

  /**
   * @return the Set-Cookie value for a new session. Groups are dropped from the end when the
   *     cookie would exceed 4 KB (browsers silently drop larger cookies, which would look like a
   *     login loop); the caller passes only the groups that matter for authorisation first.
   */
  public String sessionCookie(SessionData session) {
    SessionData s = session;
    while (true) {
      String value = sealer.seal(SESSION, write(s));
      String header = SESSION + "=" + value + "; Path=/; Max-Age=" + Math.max(0, s.expiresAt() - now())
          + "; HttpOnly; Secure; SameSite=Strict";
      if (header.length() <= MAX_COOKIE_BYTES || s.groups().isEmpty()) {
        return header;
      }
      List<String> fewer = new ArrayList<>(s.groups().subList(0, s.groups().size() / 2));
      s = new SessionData(s.version(), s.sessionId(), s.subject(), s.username(), s.email(), s.emailVerified(), fewer,
          s.mfa(), s.issuedAt(), s.expiresAt());
    }
  }

  /** @return the session, or null if absent, tampered with or expired */
  public SessionData readSession(String cookieValue) {
    byte[] plain = sealer.open(SESSION, cookieValue);
    if (plain == null) {
      return null;
    }
    SessionData s = read(plain, SessionData.class);
    long now = now();
    // both bounds: exp from the cookie and the configured TTL, so shortening the TTL takes effect at once
    if (s == null || s.version() != 1 || s.subject() == null || s.expiresAt() <= now
        || s.issuedAt() + sessionTtlSeconds <= now || s.issuedAt() > now + 60) {
      return null;
    }
    return s;
  }

  public String loginCookie(LoginState state) {
    return LOGIN + "=" + sealer.seal(LOGIN, write(state)) + "; Path=/; Max-Age=" + LOGIN_TTL_SECONDS
        + "; HttpOnly; Secure; SameSite=Lax";
  }

  /** @return the login state, or null if absent, tampered with or older than 10 minutes */
  public LoginState readLogin(String cookieValue) {
    byte[] plain = sealer.open(LOGIN, cookieValue);
    if (plain == null) {
      return null;
    }
    LoginState s = read(plain, LoginState.class);
    long now = now();
    if (s == null || s.state() == null || s.createdAt() + LOGIN_TTL_SECONDS < now || s.createdAt() > now + 60) {
      return null;
    }
    return s;
  }

  public static String clearSession() {
    return SESSION + "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict";
  }

  public static String clearLogin() {
    return LOGIN + "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax";
  }

  /** Finds one cookie in a Cookie header; the first occurrence wins, as in browsers' ordering. */
  public static String find(List<String> cookieHeaders, String name) {
    for (String header : cookieHeaders) {
      for (String part : header.split(";")) {
        String p = part.trim();
        int eq = p.indexOf('=');
        if (eq > 0 && p.substring(0, eq).equals(name)) {
          return p.substring(eq + 1);
        }
      }
    }
    return null;
  }

  /** The Cookie header the app receives: everything except the sidecar's own cookies. */
  public static String withoutOwnCookies(List<String> cookieHeaders) {
    StringBuilder b = new StringBuilder();
    for (String header : cookieHeaders) {
      for (String part : header.split(";")) {
        String p = part.trim();
        if (p.isEmpty() || p.startsWith(SESSION + "=") || p.startsWith(LOGIN + "=")) {
          continue;
        }
        if (b.length() > 0) {
          b.append("; ");
        }
        b.append(p);
      }
    }
    return b.toString();
  }

  private long now() {
    return clock.millis() / 1000;
  }

  private static byte[] write(Object o) {
    try {
      return JSON.writeValueAsBytes(o);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static <T> T read(byte[] b, Class<T> type) {
    try {
      return JSON.readValue(b, type);
    } catch (IOException e) {
      return null;
    }
  }
}
