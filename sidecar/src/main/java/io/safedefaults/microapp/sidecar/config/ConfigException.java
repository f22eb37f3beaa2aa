package io.safedefaults.microapp.sidecar.config;

/** A configuration problem, worded as one line a person can act on (it names the field). */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
