package io.safedefaults.microapp.approval;

import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.approval.Approval.State;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig.ApprovalRule;
import io.safedefaults.microapp.policy.Problem;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Approvals (issue 18, item 5): where a policy requires one, an app is exposed only when its
 * annotations approve exactly its current spec generation. The API server bumps metadata.generation
 * on every spec change (not on annotation or status changes), so a spec change leaves the approval
 * stale and the app unexposed until an approver approves again. Who may write the annotations is
 * decided at admission (the chart's approvals-by-approvers rule); the operator reads them, strictly,
 * in this one place.
 */
public final class ApprovalGate {
  public static final String APPROVED_GENERATION = "safedefaults.io/approved-generation";
  public static final String APPROVED_BY = "safedefaults.io/approved-by";
  private static final Pattern GENERATION = Pattern.compile("[1-9][0-9]{0,18}");

  private ApprovalGate() {}

  public static Approval judge(MicroApp app, AppPlan plan) {
    ApprovalRule rule = plan.config().approval();
    long generation = Optional.ofNullable(app.getMetadata().getGeneration()).orElse(0L);
    if (!rule.required()) {
      return new Approval(State.NOT_REQUIRED, generation, null, null);
    }
    Map<String, String> a = Optional.ofNullable(app.getMetadata().getAnnotations()).orElse(Map.of());
    String approvedText = a.get(APPROVED_GENERATION);
    String by = a.get(APPROVED_BY);
    Long approved = approvedText != null && GENERATION.matcher(approvedText).matches()
        ? parse(approvedText) : null;
    String approver = by == null || by.isBlank() ? null : by;
    if (rule.approverGroups().isEmpty()) {
      return new Approval(State.NO_APPROVERS, generation, approved, approver);
    }
    if (approvedText == null && by == null) {
      return new Approval(State.MISSING, generation, null, null);
    }
    if (approved == null || approver == null) {
      return new Approval(State.MALFORMED, generation, approved, approver);
    }
    return new Approval(approved == generation ? State.APPROVED : State.STALE, generation, approved, approver);
  }

  private static Long parse(String text) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** A required approval that is not there for the current generation keeps the app unexposed. */
  public static Optional<Problem> problem(AppPlan plan, Approval approval) {
    if (approval.state() == State.NOT_REQUIRED || approval.state() == State.APPROVED || plan.host() == null) {
      return Optional.empty();
    }
    ApprovalRule rule = plan.config().approval();
    String who = plan.config().source() + " requires an approval";
    String message = switch (approval.state()) {
      case NO_APPROVERS -> who + ", but the policies that name approverGroups have no group in common, so nobody"
          + " can approve: the platform team gives them a common approval.approverGroups entry";
      case MISSING -> who + (approval.generation() > 0 ? " of generation " + approval.generation()
          : " of the spec generation the API server gives the app once applied") + " before the app is exposed";
      case STALE -> who + " of generation " + approval.generation() + ": the approval is of generation "
          + approval.approvedGeneration() + " and the spec has changed since";
      case MALFORMED -> who + " of generation " + approval.generation() + ": the annotations " + APPROVED_GENERATION
          + " (a generation number) and " + APPROVED_BY + " (the approver's user name) must both be set";
      default -> throw new IllegalStateException(approval.state().name());
    };
    if (approval.state() != State.NO_APPROVERS) {
      message += "; a member of " + String.join(", ", rule.approverGroups()) + " approves with: " + command(plan,
          approval.generation());
    }
    return Optional.of(new Problem(Problem.Area.APPROVAL,
        approval.state() == State.NO_APPROVERS ? "NoApprovers" : "ApprovalRequired", message, true));
  }

  /** The command an approver runs; kubectl auth whoami asks the API server who the caller is (SelfSubjectReview). */
  public static String command(AppPlan plan, long generation) {
    String app = "microapp -n " + plan.namespace() + " " + plan.name();
    // offline (check) the generation is not known yet: the command reads it
    String gen = generation > 0 ? Long.toString(generation)
        : "\"$(kubectl get " + app + " -o jsonpath='{.metadata.generation}')\"";
    return "kubectl annotate " + app + " --overwrite " + APPROVED_GENERATION + "=" + gen + " " + APPROVED_BY
        + "=\"$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')\"";
  }

  /**
   * The approver as the audit log records users: a pseudonymous id (Kubernetes user names are often
   * e-mail addresses, which the audit log never carries). An auditor who suspects a person compares
   * this id with {@code approverId(theirUserName)}; the API server's own audit log has the name.
   */
  public static String approverId(String userName) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update("microapp-operator approver\0".getBytes(StandardCharsets.US_ASCII));
      d.update(userName.getBytes(StandardCharsets.UTF_8));
      return "k-" + HexFormat.of().formatHex(d.digest(), 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
