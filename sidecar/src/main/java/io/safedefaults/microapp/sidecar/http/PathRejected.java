package io.safedefaults.microapp.sidecar.http;

/** A request path the sidecar refuses to interpret; answered with 400 before any decision. */
public final class PathRejected extends Exception {
  public PathRejected(String reason) {
    super(reason, null, false, false);
  }
}
