package io.safedefaults.microapp.sidecar.oidc;

import com.nimbusds.jwt.JWTClaimsSet;
import io.safedefaults.microapp.sidecar.http.Identity;
import java.util.ArrayList;
import java.util.List;

/** Turns verified claims into an {@link Identity}; the groups claim name is configurable. */
public final class ClaimsMapper {
  private final String groupsClaim;
  private final MfaRequirement mfa;

  public ClaimsMapper(String groupsClaim, MfaRequirement mfa) {
    this.groupsClaim = groupsClaim;
    this.mfa = mfa;
  }

  public Identity identity(JWTClaimsSet claims, long expiresAt) {
    Object groups = claims.getClaim(groupsClaim);
    List<String> list = new ArrayList<>();
    if (groups instanceof String s) {
      list.add(s);
    } else if (groups instanceof List<?> l) {
      for (Object o : l) {
        if (o instanceof String s) {
          list.add(s);
        }
      }
    }
    Object verified = claims.getClaim("email_verified");
    return new Identity(claims.getSubject(), stringClaim(claims, "preferred_username"), stringClaim(claims, "email"),
        Boolean.TRUE.equals(verified) || "true".equals(verified), list, mfa.provesMfa(claims), expiresAt);
  }

  private static String stringClaim(JWTClaimsSet claims, String name) {
    Object v = claims.getClaim(name);
    if (!(v instanceof String s) || s.length() > 256) {
      return null;
    }
    // identity headers must never carry a line break or other control character to the app
    for (char c : s.toCharArray()) {
      if (c < 0x20 || c == 0x7f) {
        return null;
      }
    }
    return s;
  }
}
