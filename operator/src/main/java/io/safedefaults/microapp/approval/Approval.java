package io.safedefaults.microapp.approval;

/**
 * What the operator read from an app's approval annotations.
 *
 * @param generation the app's current metadata.generation
 * @param approvedGeneration the generation the annotation names (null: none, or not a number)
 * @param approver the approved-by annotation, the approver's Kubernetes user name (null: none)
 */
public record Approval(State state, long generation, Long approvedGeneration, String approver) {

  public enum State {
    /** No policy requires approval here. */
    NOT_REQUIRED,
    /** Required, and the current generation is approved. */
    APPROVED,
    /** Required, and there is no approval at all. */
    MISSING,
    /** Required, and the approval is for another generation: the spec changed since. */
    STALE,
    /** Required, and the annotations cannot be read (not a generation number, or approved-by missing). */
    MALFORMED,
    /** Required, but the policies that name approver groups share none: nobody can approve. */
    NO_APPROVERS
  }
}
