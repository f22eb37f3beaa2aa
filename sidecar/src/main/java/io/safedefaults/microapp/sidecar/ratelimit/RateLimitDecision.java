package io.safedefaults.microapp.sidecar.ratelimit;

import io.github.bucket4j.ConsumptionProbe;
import io.vertx.core.MultiMap;

/**
 * The outcome of taking one token, and the headers that tell a client where it stands
 * (draft-ietf-httpapi-ratelimit-headers: RateLimit-Limit/Remaining/Reset, plus Retry-After on 429).
 */
public record RateLimitDecision(String name, boolean allowed, long limit, long remaining, long resetSeconds,
    long retryAfterSeconds) {

  static RateLimitDecision of(LimitSpec spec, ConsumptionProbe probe) {
    long reset = ceilSeconds(probe.getNanosToWaitForReset());
    long retry = probe.isConsumed() ? 0 : Math.max(1, ceilSeconds(probe.getNanosToWaitForRefill()));
    return new RateLimitDecision(spec.name(), probe.isConsumed(), spec.limit(),
        Math.max(0, probe.getRemainingTokens()), reset, retry);
  }

  public void writeHeaders(MultiMap headers) {
    headers.set("RateLimit-Limit", Long.toString(limit));
    headers.set("RateLimit-Remaining", Long.toString(remaining));
    headers.set("RateLimit-Reset", Long.toString(resetSeconds));
    if (!allowed) {
      headers.set("Retry-After", Long.toString(retryAfterSeconds));
    }
  }

  /** The decision a client should see: a refusal, else the budget closest to running out. */
  public static RateLimitDecision tightest(RateLimitDecision a, RateLimitDecision b) {
    if (a == null) {
      return b;
    }
    if (b == null) {
      return a;
    }
    if (a.allowed() != b.allowed()) {
      return a.allowed() ? b : a;
    }
    return b.remaining() < a.remaining() ? b : a;
  }

  private static long ceilSeconds(long nanos) {
    return nanos <= 0 ? 0 : (nanos + 999_999_999L) / 1_000_000_000L;
  }
}
