package io.safedefaults.microapp.sidecar.server;

import io.safedefaults.microapp.sidecar.audit.AuditLog;
import io.safedefaults.microapp.sidecar.audit.SidecarMetrics;
import io.safedefaults.microapp.sidecar.audit.UserIdHasher;

/**
 * What every step of the request path reports through: the audit log, the metrics and the hasher
 * that turns user ids into the only form they are ever written in. One object so the steps'
 * constructors list what they decide with, not how they report.
 */
record Observability(UserIdHasher ids, AuditLog audit, SidecarMetrics metrics) {}
