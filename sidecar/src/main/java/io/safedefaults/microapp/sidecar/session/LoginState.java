package io.safedefaults.microapp.sidecar.session;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The short-lived state of one sign-in in progress, kept in its own encrypted cookie: the CSRF
 * {@code state}, the replay-proof {@code nonce}, the PKCE verifier and where to go afterwards.
 */
public record LoginState(
    @JsonProperty("st") String state,
    @JsonProperty("n") String nonce,
    @JsonProperty("cv") String codeVerifier,
    @JsonProperty("rt") String returnTo,
    @JsonProperty("su") boolean stepUp,
    @JsonProperty("iat") long createdAt) {}
