package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/** Sign-in settings (checklist 1: sign-in, 2: MFA on admin paths, 3: short sessions). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AuthSpec {

  @Size(max = 512)
  @JsonPropertyDescription("OIDC issuer URL (https). Defaults to the organisation's issuer from the operator configuration.")
  // What the sidecar parses as a URL with a host (java.net.URI): a host name whose last label starts
  // with a letter, an optional port, a path of URL characters; nothing it would refuse at start.
  @ValidationRule(value = "self.matches('" + ISSUER + "')",
      message = "spec.auth.issuer must be an https:// URL of a host name, an optional port and a path, without"
          + " query, fragment, user name, spaces or other characters a URL cannot hold, e.g."
          + " https://login.example.com/realms/acme")
  private String issuer;

  private static final String ISSUER = "^https://([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?[.])*"
      + "[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(:[0-9]{1,5})?(/([A-Za-z0-9._~!$&()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?$";

  @Size(max = 253)
  @JsonPropertyDescription("OIDC client id registered at the issuer. Defaults to the app's name.")
  @ValidationRule(value = "self.matches('^[A-Za-z0-9._:/-]+$')",
      message = "spec.auth.clientId may contain only letters, digits and . _ : / -")
  private String clientId;

  @JsonPropertyDescription("OIDC client secret, sealed for this app under the name auth.clientSecret. "
      + "Without it the sidecar signs in as a public client (PKCE only).")
  private SealedRef clientSecret;

  @Size(max = 64)
  @JsonPropertyDescription("Groups (from the ID token's groups claim) whose members may sign in.")
  // The sidecar refuses blank entries at start (the pod would crash-loop behind a green status) and
  // a line break or control character can only come from a copy-paste accident. (A messageExpression
  // naming the entry's index exceeds the API server's CEL cost budget for 64 entries of 256 characters.)
  @ValidationRule(value = "self.all(g, g.trim() != '' && !g.matches(" + GROUP_BAD_CHAR + "))",
      message = "spec.auth.allowedGroups: every entry must name a group: not blank, and no line breaks or"
          + " control characters")
  private List<@Size(min = 1, max = 256) @Pattern(GROUP) String> allowedGroups = new ArrayList<>();

  /*
   * Each list also has a pattern on its entries: the API server then names the offending entry
   * (spec.auth.adminPaths[2]) next to the list rule's message that says the fix. (A CEL
   * messageExpression naming the index exceeds the API server's cost budget.)
   */
  private static final String NO_CONTROL = "\\x00-\\x1f\\x7f-\\x9f\\x{2028}\\x{2029}";
  /** At least one character that is not a space of any script, and no control character. */
  static final String GROUP = "^[^" + NO_CONTROL + "]*[^\\p{Z}\\t" + NO_CONTROL + "][^" + NO_CONTROL + "]*$";
  static final String DOMAIN = "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$";
  private static final String PATH_CHAR = "[\\x21\\x22\\x24\\x26-\\x29\\x2b-\\x2d\\x30-\\x3a\\x3c-\\x3e\\x40-\\x5b\\x5d-\\x7e]";
  private static final String PATH_CHAR_OR_DOT = "[\\x21\\x22\\x24\\x26-\\x29\\x2b-\\x2e\\x30-\\x3a\\x3c-\\x3e\\x40-\\x5b\\x5d-\\x7e]";
  /**
   * The adminPaths rule below as a pattern on each entry (so the API server names the entry): the
   * same segments, none of them '.' or '..'.
   */
  static final String ADMIN_PATH_ENTRY = "^(/([*]|" + PATH_CHAR + PATH_CHAR_OR_DOT + "*|[.]" + PATH_CHAR
      + PATH_CHAR_OR_DOT + "*|[.][.]" + PATH_CHAR_OR_DOT + "+))*(/[*][*])?/?$";

  /** C0 and C1 control characters (line breaks included), DEL, and the Unicode line and paragraph separators. */
  private static final String GROUP_BAD_CHAR = "r'[\\x00-\\x1f\\x7f-\\x9f\\x{2028}\\x{2029}]'";

  @Size(max = 32)
  @JsonPropertyDescription("E-mail domains whose verified users may sign in, e.g. acme.com (exact match, no wildcards).")
  @ValidationRule(value = "self.all(d, d.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$'))",
      message = "spec.auth.allowedEmailDomains: each entry must be a lowercase domain such as acme.com, without @ or wildcards")
  private List<@Size(max = 253) @Pattern(DOMAIN) String> allowedEmailDomains = new ArrayList<>();

  @Size(max = 32)
  @JsonPropertyDescription("Paths that need multi-factor sign-in (exports, deletes, settings). "
      + "'/admin/**' matches /admin and everything below it; '/export' matches exactly that path.")
  @ValidationRule(value = "self.all(p, p.startsWith('/'))",
      message = "spec.auth.adminPaths: every path must start with '/', e.g. /admin/**")
  // Exactly what the sidecar's path patterns accept (PathPattern.compile): anything else stops it at start.
  @ValidationRule(value = "self.all(p, p.matches(" + ADMIN_PATH + ") && !p.matches('" + DOT_SEGMENT + "'))",
      message = "spec.auth.adminPaths: write plain normalised paths: printable ASCII without spaces, ?, #, %, ;,"
          + " backslash, empty or dot segments; '*' only as a whole segment and '**' only at the end, e.g. /admin/**")
  private List<@Size(min = 1, max = 256) @Pattern(ADMIN_PATH_ENTRY) String> adminPaths = new ArrayList<>();

  /** Segments of printable ASCII but % ? # ; \ * and /, or a whole '*'; a final '**'; a trailing '/'. */
  private static final String ADMIN_PATH =
      "r'^(/([*]|[\\x21\\x22\\x24\\x26-\\x29\\x2b-\\x2e\\x30-\\x3a\\x3c-\\x3e\\x40-\\x5b\\x5d-\\x7e]+))*(/[*][*])?/?$'";
  /** A '.' or '..' segment anywhere in a path. */
  public static final String DOT_SEGMENT = "(^|/)[.][.]?(/|$)";

  @Size(max = 16)
  @JsonPropertyDescription("How long a sign-in lasts, as a Go duration such as 8h or 90m. Default 8h; at most 24h "
      + "and at most the cluster policy's maximum unless overridden.")
  @ValidationRule(value = "self.matches('^([0-9]+h)?([0-9]+m)?$') && self != ''",
      message = "spec.auth.sessionTTL must be hours and/or minutes such as 8h, 90m or 1h30m")
  @ValidationRule(value = "!self.matches('^([0-9]+h)?([0-9]+m)?$') || self == '' || (duration(self) <= duration('24h') && duration(self) >= duration('5m'))",
      message = "spec.auth.sessionTTL must be between 5m and 24h; long sessions outlive a stolen laptop")
  private String sessionTTL;

  public String getIssuer() { return issuer; }
  public void setIssuer(String issuer) { this.issuer = issuer; }
  public String getClientId() { return clientId; }
  public void setClientId(String clientId) { this.clientId = clientId; }
  public SealedRef getClientSecret() { return clientSecret; }
  public void setClientSecret(SealedRef clientSecret) { this.clientSecret = clientSecret; }
  public List<String> getAllowedGroups() { return allowedGroups; }
  public void setAllowedGroups(List<String> allowedGroups) { this.allowedGroups = allowedGroups; }
  public List<String> getAllowedEmailDomains() { return allowedEmailDomains; }
  public void setAllowedEmailDomains(List<String> allowedEmailDomains) { this.allowedEmailDomains = allowedEmailDomains; }
  public List<String> getAdminPaths() { return adminPaths; }
  public void setAdminPaths(List<String> adminPaths) { this.adminPaths = adminPaths; }
  public String getSessionTTL() { return sessionTTL; }
  public void setSessionTTL(String sessionTTL) { this.sessionTTL = sessionTTL; }
}
