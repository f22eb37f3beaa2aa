package io.safedefaults.microapp.reports;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.CheckResult.Item;
import io.safedefaults.microapp.status.CheckResult.Outcome;
import io.safedefaults.microapp.status.Conditions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An app's checklist as an OpenReports {@code Report} (openreports.io/v1alpha1, the successor of the
 * wg-policy PolicyReport that Kyverno and Policy Reporter read): one result per checklist item,
 * scoped to the MicroApp and owned by it. A pure function of the app, its checks, its plan and the
 * Report already there, so equal input gives an equal Report and an unchanged app is never rewritten.
 *
 * <p>Outcomes: PASSED is {@code pass}, FAILED is {@code fail}, RELAXED is {@code skip} with the
 * override's setting and justification in {@code properties}. A PASSED item whose spec asked for more
 * than the cluster policy allows (the operator enforced the bound instead: session TTL, rate limits,
 * retention) is {@code warn}, with the refusal as its message: the default holds, the spec is wrong.
 */
public final class ChecklistReport {
  public static final String GROUP = "openreports.io";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = GROUP + "/" + VERSION;
  public static final String KIND = "Report";
  public static final String PLURAL = "reports";
  /** Who wrote the report, as Policy Reporter shows it (its "source" filter). */
  public static final String SOURCE = "microapp-operator";
  /** The one policy every result belongs to; rules are the checklist items' keys. */
  public static final String POLICY = "microapp-checklist";

  /** Refusals that leave the default enforced (the plan applied the bound), by the item they concern. */
  private static final Map<Problem.Area, Item> BOUNDED = Map.of(
      Problem.Area.AUTH, Item.SHORT_SESSIONS,
      Problem.Area.RATE_LIMIT, Item.RATE_LIMITS,
      Problem.Area.RETENTION, Item.MINIMAL_RETENTION);

  private ChecklistReport() {}

  /**
   * The Report for {@code app}.
   *
   * @param previous the Report there now (null if none): a result that did not change keeps its
   *     timestamp, so an unchanged app yields an equal Report and no write
   * @param now when a new or changed result was found
   */
  public static GenericKubernetesResource desired(MicroApp app, List<CheckResult> checks, AppPlan plan,
      GenericKubernetesResource previous, Instant now) {
    Map<String, Object> seenBefore = previousResults(previous);
    List<Map<String, Object>> results = new ArrayList<>();
    Map<String, Integer> summary = new LinkedHashMap<>();
    for (String r : List.of("pass", "fail", "warn", "error", "skip")) {
      summary.put(r, 0);
    }
    for (CheckResult check : checks) {
      Map<String, Object> result = result(check, plan);
      summary.merge((String) result.get("result"), 1, Integer::sum);
      result.put("timestamp", timestamp(result, seenBefore.get(check.item().key), now));
      results.add(result);
    }

    GenericKubernetesResource report = new GenericKubernetesResource();
    report.setApiVersion(API_VERSION);
    report.setKind(KIND);
    report.setMetadata(Names.metadata(app, Names.report(app)));
    report.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder()
        .withApiVersion(HasMetadata.getApiVersion(MicroApp.class))
        .withKind(HasMetadata.getKind(MicroApp.class))
        .withName(app.getMetadata().getName())
        .withUid(app.getMetadata().getUid())
        .withController(true)
        // true would need update on microapps/finalizers where OwnerReferencesPermissionEnforcement
        // runs, to hold up a foreground deletion for a report nobody waits for
        .withBlockOwnerDeletion(false)
        .build()));
    Map<String, Object> scope = new LinkedHashMap<>();
    scope.put("apiVersion", HasMetadata.getApiVersion(MicroApp.class));
    scope.put("kind", HasMetadata.getKind(MicroApp.class));
    scope.put("name", app.getMetadata().getName());
    scope.put("namespace", app.getMetadata().getNamespace());
    scope.put("uid", app.getMetadata().getUid());
    report.setAdditionalProperty("source", SOURCE);
    report.setAdditionalProperty("scope", scope);
    report.setAdditionalProperty("summary", summary);
    report.setAdditionalProperty("results", results);
    return report;
  }

  /** One item's result, without its timestamp. */
  static Map<String, Object> result(CheckResult check, AppPlan plan) {
    Item item = check.item();
    Map<String, String> properties = new LinkedHashMap<>();
    properties.put("checklistItem", String.valueOf(item.number));
    properties.put("condition", item.condition);
    properties.put("reason", check.reason());
    String outcome;
    String message = check.message();
    switch (check.outcome()) {
      case PASSED -> {
        Optional<Problem> bounded = bounded(item, plan);
        outcome = bounded.isPresent() ? "warn" : "pass";
        if (bounded.isPresent()) {
          properties.put("reason", bounded.get().reason());
          message = bounded.get().message();
        }
      }
      case FAILED -> outcome = "fail";
      case RELAXED -> {
        outcome = "skip";
        setting(item).ifPresent(s -> {
          properties.put("override", s.wireName());
          String justification = plan.relaxed().get(s);
          if (justification != null) {
            properties.put("justification", justification);
          }
        });
      }
      default -> throw new IllegalStateException("unknown outcome " + check.outcome());
    }
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("source", SOURCE);
    result.put("policy", POLICY);
    result.put("rule", item.key);
    result.put("category", category(item));
    result.put("severity", severity(item));
    result.put("result", outcome);
    result.put("scored", true);
    result.put("message", message);
    result.put("properties", properties);
    return result;
  }

  /**
   * How much it matters when an item is not met, the same whatever the outcome (Policy Reporter
   * filters and alerts by it). critical: anyone reaches the app without signing in. high: an
   * attacker's way in or a wider blast radius (admin actions without MFA, traffic without TLS,
   * secrets that do not open, privileges beyond the app's, a relaxation the policy forbids, an image
   * with known vulnerabilities).
   * medium: limits that bound damage over time (sessions, request rates, how long data is kept).
   */
  public static String severity(Item item) {
    return switch (item) {
      case SIGN_IN_REQUIRED -> "critical";
      case MFA_FOR_ADMIN_PATHS, TLS_AND_HSTS, SECRETS_SEALED, LEAST_PRIVILEGE, SAFE_OVERRIDES, IMAGE_SCANNED -> "high";
      case SHORT_SESSIONS, RATE_LIMITS, MINIMAL_RETENTION -> "medium";
    };
  }

  /** The status condition's area, in words a report viewer groups by. */
  static String category(Item item) {
    return switch (item.condition) {
      case Conditions.AUTH -> "Authentication";
      case Conditions.RATE_LIMITED -> "Rate limiting";
      case Conditions.TLS -> "Transport security";
      case Conditions.SECRETS_SEALED -> "Secrets";
      case Conditions.LEAST_PRIVILEGE -> "Least privilege";
      case Conditions.RETENTION_SCHEDULED -> "Data retention";
      case Conditions.IMAGE_SCANNED -> "Vulnerabilities";
      default -> "Overrides";
    };
  }

  /** The override that relaxes an item, if one can. */
  static Optional<Setting> setting(Item item) {
    return Optional.ofNullable(switch (item) {
      case SIGN_IN_REQUIRED -> Setting.VISIBILITY;
      case MFA_FOR_ADMIN_PATHS -> Setting.MFA;
      case SHORT_SESSIONS -> Setting.SESSION_TTL;
      case RATE_LIMITS -> Setting.RATE_LIMIT;
      case LEAST_PRIVILEGE -> Setting.NETWORK_POLICY;
      case MINIMAL_RETENTION -> Setting.RETENTION;
      case IMAGE_SCANNED -> Setting.IMAGE_SCAN;
      default -> null;
    });
  }

  private static Optional<Problem> bounded(Item item, AppPlan plan) {
    return plan.problems().stream()
        .filter(p -> !p.blocksExposure() && BOUNDED.get(p.area()) == item)
        .findFirst();
  }

  /** The previous timestamp when the result is the same as before, else now. */
  private static Map<String, Object> timestamp(Map<String, Object> result, Object before, Instant now) {
    if (before instanceof Map<?, ?> old && old.get("timestamp") instanceof Map<?, ?> stamp) {
      Map<Object, Object> rest = new LinkedHashMap<>(old);
      rest.remove("timestamp");
      if (rest.equals(result) && stamp.get("seconds") instanceof Number seconds) {
        return stamp(seconds.longValue());
      }
    }
    return stamp(now.getEpochSecond());
  }

  private static Map<String, Object> stamp(long seconds) {
    Map<String, Object> stamp = new LinkedHashMap<>();
    stamp.put("seconds", seconds);
    stamp.put("nanos", 0);
    return stamp;
  }

  /** The previous Report's results by rule. */
  private static Map<String, Object> previousResults(GenericKubernetesResource previous) {
    Map<String, Object> byRule = new LinkedHashMap<>();
    if (previous != null && previous.getAdditionalProperties().get("results") instanceof List<?> list) {
      for (Object r : list) {
        if (r instanceof Map<?, ?> m && m.get("rule") instanceof String rule) {
          byRule.put(rule, m);
        }
      }
    }
    return byRule;
  }
}
