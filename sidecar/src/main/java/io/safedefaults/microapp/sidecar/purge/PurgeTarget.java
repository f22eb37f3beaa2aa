package io.safedefaults.microapp.sidecar.purge;

import java.time.Instant;

/** One way of deleting an app's data older than the cutoff. */
interface PurgeTarget {
  /**
   * Deletes what is older than {@code cutoff}.
   *
   * @return how many rows or files were deleted, or null when the target does not say (an app
   *     answering its purge call with an empty 2xx)
   */
  Long purge(Instant cutoff) throws PurgeFailedException;
}
