package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.config.SidecarConfig;
import io.safedefaults.microapp.sidecar.http.PathPattern;
import io.safedefaults.microapp.sidecar.http.RequestPath;
import io.safedefaults.microapp.sidecar.ratelimit.LimitSpec;
import io.vertx.core.http.HttpMethod;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A person's own-data export and delete (checklist 8): offered at fixed well-known paths so every
 * app has them in the same place, forwarded to the app's own endpoints, and guarded like admin
 * actions: signed in, MFA, at most perUserPerHour each, audited. The app's own paths get the same
 * guard, so nobody can skip it by calling them directly.
 */
final class UserDataRoutes {
  static final String WELL_KNOWN_EXPORT = "/.well-known/microapp/export";
  static final String WELL_KNOWN_DELETE = "/.well-known/microapp/delete";

  enum Kind { EXPORT, DELETE }

  private final SidecarConfig.UserData config;
  private final List<PathPattern> export = new ArrayList<>();
  private final List<PathPattern> delete = new ArrayList<>();
  final LimitSpec exportLimit;
  final LimitSpec deleteLimit;

  UserDataRoutes(SidecarConfig.UserData config) {
    this.config = config;
    if (config.exportPath() != null) {
      export.add(PathPattern.compile(WELL_KNOWN_EXPORT));
      export.add(PathPattern.compile(config.exportPath()));
    }
    if (config.deletePath() != null) {
      delete.add(PathPattern.compile(WELL_KNOWN_DELETE));
      delete.add(PathPattern.compile(config.deletePath()));
    }
    exportLimit = new LimitSpec("user-data-export", config.perUserPerHour(), Duration.ofHours(1), 0);
    deleteLimit = new LimitSpec("user-data-delete", config.perUserPerHour(), Duration.ofHours(1), 0);
  }

  /** Paths that need MFA, for {@code MfaRequirement}. */
  List<String> guardedPaths() {
    List<String> out = new ArrayList<>();
    export.forEach(p -> out.add(p.toString()));
    delete.forEach(p -> out.add(p.toString()));
    return out;
  }

  Kind kind(String normalisedPath) {
    if (PathPattern.anyMatches(export, normalisedPath)) {
      return Kind.EXPORT;
    }
    if (PathPattern.anyMatches(delete, normalisedPath)) {
      return Kind.DELETE;
    }
    return null;
  }

  static boolean allows(Kind kind, HttpMethod method) {
    return kind == Kind.EXPORT ? method == HttpMethod.GET || method == HttpMethod.HEAD
        : method == HttpMethod.POST || method == HttpMethod.DELETE;
  }

  LimitSpec limit(Kind kind) {
    return kind == Kind.EXPORT ? exportLimit : deleteLimit;
  }

  /** Where the app receives the request: its own endpoint for the well-known paths, else unchanged. */
  String appTarget(RequestPath p) {
    String query = p.forwardTarget().contains("?") ? p.forwardTarget().substring(p.forwardTarget().indexOf('?')) : "";
    if (config.exportPath() != null && PathPattern.compile(WELL_KNOWN_EXPORT).matches(p.path())) {
      return config.exportPath() + query;
    }
    if (config.deletePath() != null && PathPattern.compile(WELL_KNOWN_DELETE).matches(p.path())) {
      return config.deletePath() + query;
    }
    return p.forwardTarget();
  }
}
