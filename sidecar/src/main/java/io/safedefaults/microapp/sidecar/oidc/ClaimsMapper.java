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

  /**
   * @throws TokenRejected {@code invalid_claims} when the subject, a name, the e-mail or a group
   *     holds a control character or a line separator: no provider issues those, and a value the
   *     app might split or log as two lines is refused rather than cleaned into someone else's
   */
  public Identity identity(JWTClaimsSet claims, long expiresAt) throws TokenRejected {
    Object groups = claims.getClaim(groupsClaim);
    List<String> list = new ArrayList<>();
    if (groups instanceof String s) {
      list.add(checked(s));
    } else if (groups instanceof List<?> l) {
      for (Object o : l) {
        if (o instanceof String s) {
          list.add(checked(s));
        }
      }
    }
    Object verified = claims.getClaim("email_verified");
    return new Identity(checked(claims.getSubject()), stringClaim(claims, "preferred_username"),
        stringClaim(claims, "email"), Boolean.TRUE.equals(verified) || "true".equals(verified), list,
        mfa.provesMfa(claims), expiresAt);
  }

  private static String stringClaim(JWTClaimsSet claims, String name) throws TokenRejected {
    Object v = claims.getClaim(name);
    return v instanceof String s && s.length() <= 256 ? checked(s) : null;
  }

  private static String checked(String value) throws TokenRejected {
    if (value != null) {
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029) {
          throw new TokenRejected("invalid_claims");
        }
      }
    }
    return value;
  }
}
