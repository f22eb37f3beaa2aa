package io.safedefaults.microapp.sidecar.purge;

/**
 * The purge ran and did not finish: exit code 1. The message is a sentence safe to print (no
 * connection strings, tokens, hosts or file contents); {@code deleted} counts what was deleted
 * before the failure, or is null when unknown.
 */
public final class PurgeFailedException extends Exception {
  private final Long deleted;

  public PurgeFailedException(String message, Long deleted) {
    super(message, null, false, false);
    this.deleted = deleted;
  }

  public Long deleted() {
    return deleted;
  }
}
