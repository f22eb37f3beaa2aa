package io.safedefaults.microapp.sidecar.server;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import java.util.function.Function;

/**
 * One check on the way to the app (the order is Gatekeeper's). A step either lets the request go
 * on to the next one ({@link #NEXT}) or answers it itself, with a refusal, a redirect or by handing
 * it to the app ({@link #DONE}); after that no later step runs. A step that waits (Redis, the
 * provider, a worker thread) completes later; the others complete at once and the next step runs
 * on the same call stack, as one method would.
 */
@FunctionalInterface
interface Step {
  Future<Boolean> NEXT = Future.succeededFuture(true);
  Future<Boolean> DONE = Future.succeededFuture(false);

  Future<Boolean> apply(RequestScope rq);

  /** Runs the steps in order until one answers the request. */
  static void run(RequestScope rq, Step[] steps) {
    run(rq, steps, 0);
  }

  private static void run(RequestScope rq, Step[] steps, int from) {
    for (int i = from; i < steps.length; i++) {
      Future<Boolean> next = steps[i].apply(rq);
      if (!next.isComplete()) {
        int after = i + 1;
        next.onComplete(ar -> {
          if (goOn(ar)) {
            run(rq, steps, after);
          }
        });
        return;
      }
      if (!goOn(next)) {
        return;
      }
    }
  }

  /**
   * Steps answer their own failures; one that fails instead is a bug, reported like an exception
   * thrown in a request handler (Vert.x logs it) rather than dropped.
   */
  private static boolean goOn(AsyncResult<Boolean> decided) {
    if (decided.failed()) {
      throw new IllegalStateException("a request step failed instead of answering", decided.cause());
    }
    return decided.result();
  }

  /**
   * What a step decides once {@code pending} has completed: at once when it already has (no
   * scheduling, no extra future), else when it does.
   */
  static <T> Future<Boolean> after(Future<T> pending, Function<AsyncResult<T>, Future<Boolean>> decide) {
    return pending.isComplete() ? decide.apply(pending) : pending.transform(decide);
  }
}
