package io.safedefaults.microapp.sidecar.ratelimit;

import java.util.concurrent.CompletionStage;

/** Takes one token from the bucket {@code spec.name() + key} (checklist 4). */
public interface RateLimiter extends AutoCloseable {
  CompletionStage<RateLimitDecision> tryConsume(LimitSpec spec, String key);

  @Override
  default void close() {}
}
