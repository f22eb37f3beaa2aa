package io.safedefaults.microapp.approval;

import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import io.safedefaults.microapp.api.MicroApp;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Which updates of a MicroApp are worth a reconcile: a new generation (what generation-aware event
 * processing passes), a deletion starting, or a change of the approval annotations, which the API
 * server does not count as a new generation. JOSDK can only narrow its generation-aware filter, so the
 * reconciler turns that off and uses this one instead; status writes stay ignored as before.
 */
public final class SpecOrApprovalChanged implements OnUpdateFilter<MicroApp> {
  @Override
  public boolean accept(MicroApp now, MicroApp before) {
    return !Objects.equals(now.getMetadata().getGeneration(), before.getMetadata().getGeneration())
        || now.isMarkedForDeletion()
        || !Objects.equals(approval(now), approval(before));
  }

  private static String approval(MicroApp app) {
    Map<String, String> a = Optional.ofNullable(app.getMetadata().getAnnotations()).orElse(Map.of());
    return a.get(ApprovalGate.APPROVED_GENERATION) + "\n" + a.get(ApprovalGate.APPROVED_BY);
  }
}
