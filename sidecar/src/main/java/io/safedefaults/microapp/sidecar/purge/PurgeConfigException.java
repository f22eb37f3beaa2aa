package io.safedefaults.microapp.sidecar.purge;

/** The configuration (or a file it names) cannot be used: exit code 2, one line naming the field. */
public final class PurgeConfigException extends RuntimeException {
  public PurgeConfigException(String message) {
    super(message, null, false, false);
  }
}
