package io.safedefaults.microapp.sidecar.oidc;

import com.nimbusds.jwt.JWTClaimsSet;
import io.safedefaults.microapp.sidecar.http.PathPattern;
import java.util.List;
import java.util.Set;

/**
 * MFA for admin actions (checklist 2): requests whose normalised path matches adminPaths need a
 * sign-in that proved a second factor: an {@code amr} value from the configured list (RFC 8176:
 * mfa, otp, hwk, ...) or one of the configured {@code acr} values.
 */
public final class MfaRequirement {
  private final List<PathPattern> adminPaths;
  private final boolean required;
  private final Set<String> amr;
  private final List<String> acr;

  public MfaRequirement(List<String> adminPaths, boolean required, List<String> amr, List<String> acr) {
    this.adminPaths = PathPattern.compileAll(adminPaths);
    this.required = required;
    this.amr = Set.copyOf(amr);
    this.acr = List.copyOf(acr);
  }

  public boolean isAdminPath(String normalisedPath) {
    return PathPattern.anyMatches(adminPaths, normalisedPath);
  }

  /** @return true when this path needs MFA that the caller has not proved */
  public boolean needsStepUp(String normalisedPath, boolean callerHasMfa) {
    return required && !callerHasMfa && isAdminPath(normalisedPath);
  }

  public boolean provesMfa(JWTClaimsSet claims) {
    for (String a : TokenValidator.stringSet(claims.getClaim("amr"))) {
      if (amr.contains(a)) {
        return true;
      }
    }
    Object tokenAcr = claims.getClaim("acr");
    return tokenAcr instanceof String s && acr.contains(s);
  }

  /** acr_values to ask the provider for on step-up; empty when none are configured. */
  public List<String> acrValues() {
    return acr;
  }

  public Set<String> amrValues() {
    return amr;
  }
}
