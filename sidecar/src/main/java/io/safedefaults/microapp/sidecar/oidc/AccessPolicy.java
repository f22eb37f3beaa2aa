package io.safedefaults.microapp.sidecar.oidc;

import io.safedefaults.microapp.sidecar.config.SidecarConfig.Visibility;
import io.safedefaults.microapp.sidecar.http.Identity;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Who may use the app once signed in (checklist 1). private: members of an allowed group or people
 * with a verified address in an allowed e-mail domain (either suffices); with both lists empty
 * nobody is let in (fail closed). organization and public: anyone the provider signed in.
 * Checked on every request, so removing a group from the configuration locks out existing sessions.
 */
public final class AccessPolicy {
  private final Visibility visibility;
  private final Set<String> groups;
  private final Set<String> domains;

  public AccessPolicy(Visibility visibility, List<String> allowedGroups, List<String> allowedEmailDomains) {
    this.visibility = visibility;
    this.groups = Set.copyOf(allowedGroups);
    this.domains = Set.copyOf(allowedEmailDomains);
  }

  /** @return null when allowed, otherwise the denial reason for the audit log */
  public String deny(Identity who) {
    if (visibility != Visibility.PRIVATE) {
      return null;
    }
    for (String g : who.groups()) {
      if (groups.contains(g)) {
        return null;
      }
    }
    if (!domains.isEmpty()) {
      String domain = emailDomain(who.email());
      if (domain != null && domains.contains(domain)) {
        return who.emailVerified() ? null : "email_not_verified";
      }
    }
    return "not_in_allowed_groups_or_domains";
  }

  /** The groups worth keeping in a session cookie: the allowed ones first, capped. */
  public List<String> groupsToKeep(List<String> all) {
    if (groups.isEmpty()) {
      return all.size() > 50 ? all.subList(0, 50) : all;
    }
    return all.stream().filter(groups::contains).toList();
  }

  /**
   * The domain of an address with exactly one '@' and a non-empty local part, lower-cased; null
   * for anything else. "eve@evil.com@acme.com" and "eve@acme.com.evil.com" never match acme.com.
   */
  public static String emailDomain(String email) {
    if (email == null) {
      return null;
    }
    int at = email.indexOf('@');
    if (at <= 0 || at != email.lastIndexOf('@') || at == email.length() - 1) {
      return null;
    }
    String domain = email.substring(at + 1).toLowerCase(Locale.ROOT);
    for (char c : domain.toCharArray()) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
        return null;
      }
    }
    if (domain.startsWith(".") || domain.endsWith(".") || domain.contains("..")) {
      return null;
    }
    return domain;
  }
}
