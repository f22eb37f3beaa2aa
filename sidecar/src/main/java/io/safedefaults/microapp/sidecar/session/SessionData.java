package io.safedefaults.microapp.sidecar.session;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * What the encrypted session cookie holds (short JSON keys keep the cookie well under 4 KB).
 *
 * @param sid a fresh random id per sign-in, so a session can never be fixed by an attacker
 */
public record SessionData(
    @JsonProperty("v") int version,
    @JsonProperty("sid") String sessionId,
    @JsonProperty("sub") String subject,
    @JsonProperty("usr") String username,
    @JsonProperty("eml") String email,
    @JsonProperty("ev") boolean emailVerified,
    @JsonProperty("grp") List<String> groups,
    @JsonProperty("mfa") boolean mfa,
    @JsonProperty("iat") long issuedAt,
    @JsonProperty("exp") long expiresAt) {}
