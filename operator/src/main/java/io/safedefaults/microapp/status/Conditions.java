package io.safedefaults.microapp.status;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppStatus;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult.Outcome;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Builds the status from what was observed: one condition per checklist area, Ready, the
 * checklist summary and the URL. Conditions follow the Kubernetes API conventions; a condition's
 * lastTransitionTime changes only when its status does, so an unchanged app yields an equal status
 * and no status write.
 */
public final class Conditions {
  public static final String READY = "Ready";
  public static final String AUTH = "AuthEnforced";
  public static final String TLS = "TLSEnforced";
  public static final String RATE_LIMITED = "RateLimited";
  public static final String LEAST_PRIVILEGE = "LeastPrivilege";
  public static final String SECRETS_SEALED = "SecretsSealed";
  public static final String RETENTION_SCHEDULED = "RetentionScheduled";
  public static final String DEFAULTS_RELAXED = "DefaultsRelaxed";
  public static final String IMAGE_SCANNED = "ImageScanned";
  /** Order in which conditions appear in status. */
  public static final List<String> TYPES = List.of(READY, AUTH, TLS, RATE_LIMITED, SECRETS_SEALED, LEAST_PRIVILEGE,
      RETENTION_SCHEDULED, IMAGE_SCANNED, DEFAULTS_RELAXED);

  private Conditions() {}

  /**
   * @param reconcileError why a child could not be applied, if one could not
   */
  public static MicroAppStatus status(MicroApp app, AppPlan plan, Observed observed, List<CheckResult> checks,
      List<MicroAppStatus.SealedValueStatus> sealedValues, Optional<ApplyError> reconcileError, Instant now) {
    long generation = Optional.ofNullable(app.getMetadata().getGeneration()).orElse(0L);
    List<StatusCondition> old = app.getStatus() == null ? List.of() : app.getStatus().getConditions();
    List<StatusCondition> next = new ArrayList<>();
    next.add(ready(plan, observed, checks, reconcileError));
    for (String type : List.of(AUTH, TLS, RATE_LIMITED, SECRETS_SEALED, LEAST_PRIVILEGE, RETENTION_SCHEDULED,
        IMAGE_SCANNED)) {
      next.add(area(type, checks));
    }
    next.add(relaxed(plan));

    MicroAppStatus s = new MicroAppStatus();
    s.setObservedGeneration(generation);
    s.setConditions(next.stream().map(c -> stamp(c, old, generation, now)).toList());
    List<String> failing = checks.stream().filter(c -> c.outcome() == Outcome.FAILED).map(c -> c.item().key).toList();
    List<String> relaxedItems = checks.stream().filter(c -> c.outcome() == Outcome.RELAXED).map(c -> c.item().key).toList();
    int passed = (int) checks.stream().filter(c -> c.outcome() == Outcome.PASSED).count();
    s.setChecklist(new MicroAppStatus.Checklist(passed, checks.size(), failing, relaxedItems));
    s.setSealedValues(sealedValues.isEmpty() ? null : List.copyOf(sealedValues));
    s.setRetention(PurgeRuns.status(plan, observed));
    s.setUrl(plan.exposed() && (plan.config().exposure().gatewayMode() ? observed.httpsRoute() : observed.ingress()) != null
        ? "https://" + plan.host() : null);
    return s;
  }

  private static StatusCondition ready(AppPlan plan, Observed observed, List<CheckResult> checks, Optional<ApplyError> error) {
    if (!plan.problems().isEmpty()) {
      Problem first = plan.problems().get(0);
      String more = plan.problems().size() > 1 ? " (and " + (plan.problems().size() - 1) + " more problem(s))" : "";
      return condition(READY, false, first.reason(), first.message() + more);
    }
    // A value that does not open explains a failed apply better than the apply error does.
    Optional<CheckResult> unsealFailure = checks.stream()
        .filter(c -> c.item() == CheckResult.Item.SECRETS_SEALED && c.outcome() == Outcome.FAILED
            && !"SecretPending".equals(c.reason()))
        .findFirst();
    if (unsealFailure.isPresent()) {
      return condition(READY, false, unsealFailure.get().reason(), unsealFailure.get().message());
    }
    if (error.isPresent()) {
      return condition(READY, false, error.get().reason(), error.get().message());
    }
    Optional<CheckResult> failed = checks.stream().filter(c -> c.outcome() == Outcome.FAILED).findFirst();
    if (failed.isPresent()) {
      return condition(READY, false, failed.get().reason(), failed.get().message());
    }
    if (observed.availableReplicas() < 1) {
      return condition(READY, false, "PodsNotReady", "waiting for the app's pod to become available");
    }
    return condition(READY, true, "Ready", plan.relaxed().isEmpty()
        ? "all checklist defaults are enforced"
        : "all checklist defaults are enforced or relaxed by a justified override");
  }

  private static StatusCondition area(String type, List<CheckResult> checks) {
    List<CheckResult> mine = checks.stream().filter(c -> c.item().condition.equals(type)).toList();
    Optional<CheckResult> failed = mine.stream().filter(c -> c.outcome() == Outcome.FAILED).findFirst();
    if (failed.isPresent()) {
      return condition(type, false, failed.get().reason(), failed.get().message());
    }
    Optional<CheckResult> relaxed = mine.stream().filter(c -> c.outcome() == Outcome.RELAXED).findFirst();
    CheckResult shown = relaxed.orElse(mine.get(0));
    String message = mine.stream().map(CheckResult::message).collect(Collectors.joining("; "));
    return condition(type, true, shown.reason(), message);
  }

  /**
   * The app's last status with Ready=False for a failure the operator could not turn into a
   * finding (a bug, or an API call that threw): the other conditions keep what was last observed.
   */
  public static MicroAppStatus failed(MicroApp app, String message, Instant now) {
    long generation = Optional.ofNullable(app.getMetadata().getGeneration()).orElse(0L);
    List<StatusCondition> old = app.getStatus() == null ? List.of() : app.getStatus().getConditions();
    List<StatusCondition> next = new ArrayList<>();
    next.add(stamp(condition(READY, false, "ReconcileFailed", message), old, generation, now));
    old.stream().filter(c -> !READY.equals(c.getType())).forEach(next::add);
    MicroAppStatus s = new MicroAppStatus();
    if (app.getStatus() != null) {
      s.setChecklist(app.getStatus().getChecklist());
      s.setRetention(app.getStatus().getRetention());
      s.setSealedValues(app.getStatus().getSealedValues());
    }
    s.setObservedGeneration(generation);
    s.setConditions(next);
    return s;
  }

  private static StatusCondition relaxed(AppPlan plan) {
    if (plan.relaxed().isEmpty()) {
      return condition(DEFAULTS_RELAXED, false, "NoOverrides", "every default applies");
    }
    String message = plan.relaxed().entrySet().stream()
        .sorted(Map.Entry.comparingByKey(Comparator.comparing(Setting::wireName)))
        .map(e -> e.getKey().wireName() + " (\"" + e.getValue() + "\")")
        .collect(Collectors.joining(", ", "relaxed by override: ", ""));
    return condition(DEFAULTS_RELAXED, true, "OverridesApplied", message);
  }

  private static StatusCondition condition(String type, boolean status, String reason, String message) {
    return StatusCondition.of(type, status, reason, message);
  }

  /** Keeps lastTransitionTime when the status did not change. */
  private static StatusCondition stamp(StatusCondition c, List<StatusCondition> old, long generation, Instant now) {
    String since = old.stream()
        .filter(o -> c.getType().equals(o.getType()) && c.getStatus().equals(o.getStatus()))
        .map(StatusCondition::getLastTransitionTime)
        .filter(t -> t != null)
        .findFirst()
        .orElse(DateTimeFormatter.ISO_INSTANT.format(now.truncatedTo(ChronoUnit.SECONDS)));
    return c.withObservedGeneration(generation).withLastTransitionTime(since);
  }

  public static Optional<StatusCondition> find(MicroAppStatus status, String type) {
    return status == null ? Optional.empty()
        : status.getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
  }
}
