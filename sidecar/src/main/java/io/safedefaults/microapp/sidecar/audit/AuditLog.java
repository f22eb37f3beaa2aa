package io.safedefaults.microapp.sidecar.audit;

import static net.logstash.logback.argument.StructuredArguments.kv;

import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Structured JSON audit events (checklist 9) on the "audit" logger and one access line per request
 * on the "access" logger. Fields are hashed ids, fixed reason words and normalised paths with
 * anything that looks like an e-mail address masked; never tokens, cookies, queries or addresses.
 */
public final class AuditLog {
  private static final Logger AUDIT = LoggerFactory.getLogger("audit");
  private static final Logger ACCESS = LoggerFactory.getLogger("access");
  private static final Pattern EMAIL_LIKE = Pattern.compile("[^/@]+@[^/]+");

  public void signIn(String user, boolean mfa, boolean stepUp) {
    AUDIT.info("sign-in", kv("event", "sign_in"), kv("user", user), kv("mfa", mfa), kv("step_up", stepUp));
  }

  public void signOut(String user) {
    AUDIT.info("sign-out", kv("event", "sign_out"), kv("user", user));
  }

  public void denied(String reason, String user, String method, String path) {
    AUDIT.warn("access denied", kv("event", "denied"), kv("reason", reason), kv("user", user), kv("method", method),
        kv("path", redact(path)));
  }

  public void stepUp(String user, String method, String path) {
    AUDIT.info("MFA step-up required", kv("event", "mfa_step_up"), kv("user", user), kv("method", method),
        kv("path", redact(path)));
  }

  public void adminAccess(String user, String method, String path) {
    AUDIT.info("admin path access", kv("event", "admin_access"), kv("user", user), kv("method", method),
        kv("path", redact(path)));
  }

  public void userData(String event, String user, String method) {
    AUDIT.info("own data " + (event.endsWith("export") ? "exported" : "deleted"), kv("event", event), kv("user", user),
        kv("method", method));
  }

  public void purge(String method) {
    AUDIT.info("purge call", kv("event", "purge"), kv("user", "purge-job"), kv("method", method));
  }

  public void rateLimited(String limit, String subjectHash, String method, String path) {
    AUDIT.warn("rate limited", kv("event", "rate_limited"), kv("limit", limit), kv("key", subjectHash),
        kv("method", method), kv("path", redact(path)));
  }

  public void access(String method, String path, int status, long micros, String outcome, String user, String client) {
    ACCESS.info("request", kv("method", method), kv("path", redact(path)), kv("status", status),
        kv("duration_us", micros), kv("outcome", outcome), kv("user", user), kv("client", client));
  }

  static String redact(String path) {
    if (path == null) {
      return null;
    }
    return path.indexOf('@') < 0 ? path : EMAIL_LIKE.matcher(path).replaceAll("<redacted>");
  }
}
