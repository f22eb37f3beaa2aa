package io.safedefaults.microapp.runtime;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpec;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseSpecBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.function.UnaryOperator;

/**
 * Makes the leader-election Lease readable for Fabric8's lock before the election starts.
 *
 * <p>The Helm chart owns the Lease object, so {@code helm uninstall} removes it with the rest of the
 * operator, but it leaves the spec to the operator: a chart that set holder or times would have
 * every {@code helm upgrade} put them back (Helm's three-way merge restores what the chart sets),
 * taking the lease from a running leader. Fabric8's LeaseLock cannot read a Lease without a
 * duration and both times, so a spec that lacks them is filled in once, unheld and renewed at the
 * epoch, with an optimistic lock: if another replica got there first, its values stand.
 *
 * <p>On shutdown the leader gives the Lease up ({@link #release}) once its controllers have
 * stopped, so a standby takes over at its next retry instead of waiting for the lease to expire.
 * JOSDK 5.2 builds Fabric8's elector with {@code releaseOnCancel} off and offers no switch, so the
 * operator writes what Fabric8's own release writes: no holder, a one-second duration, renewed now.
 */
public final class LeaderLease {
  static final ZonedDateTime EPOCH = Instant.EPOCH.atZone(ZoneOffset.UTC);

  private LeaderLease() {}

  /** The spec Fabric8 can read, or null when {@code spec} already is one. Never takes or changes a holder. */
  static LeaseSpec completed(LeaseSpec spec, Duration leaseDuration) {
    if (spec != null && spec.getLeaseDurationSeconds() != null && spec.getAcquireTime() != null
        && spec.getRenewTime() != null) {
      return null;
    }
    LeaseSpecBuilder b = spec == null ? new LeaseSpecBuilder() : new LeaseSpecBuilder(spec);
    if (spec == null || spec.getLeaseDurationSeconds() == null) {
      b.withLeaseDurationSeconds((int) leaseDuration.toSeconds());
    }
    if (spec == null || spec.getAcquireTime() == null) {
      b.withAcquireTime(EPOCH);
    }
    if (spec == null || spec.getRenewTime() == null) {
      b.withRenewTime(EPOCH);
    }
    if (spec == null || spec.getLeaseTransitions() == null) {
      b.withLeaseTransitions(0);
    }
    return b.build();
  }

  /**
   * The spec that gives the Lease up, or null when {@code identity} does not hold it (then nothing
   * may be written: the lease belongs to another replica, or nobody).
   */
  static LeaseSpec released(LeaseSpec spec, String identity, ZonedDateTime now) {
    if (spec == null || identity == null || identity.isEmpty() || !identity.equals(spec.getHolderIdentity())) {
      return null;
    }
    return new LeaseSpecBuilder(spec).withHolderIdentity(null).withLeaseDurationSeconds(1)
        .withAcquireTime(now).withRenewTime(now).build();
  }

  /**
   * Gives up the Lease if {@code identity} holds it. Returns whether it did. A 409 may be our own
   * leader elector's last renewal, in flight when the operator stopped: the Lease is read again and
   * the release retried while it is still ours ({@link #released} answers null once another replica
   * holds it, and then it is left as it is).
   */
  public static boolean release(KubernetesClient client, String namespace, String name, String identity, Clock clock) {
    for (int attempt = 1; attempt <= RELEASE_ATTEMPTS; attempt++) {
      Write result = rewrite(client, namespace, name, spec -> released(spec, identity, ZonedDateTime.now(clock)));
      if (result != Write.CONFLICT) {
        return result == Write.WRITTEN;
      }
      try {
        Thread.sleep(50L * attempt);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  static final int RELEASE_ATTEMPTS = 5;

  /** Fills in a Lease the chart created empty; a missing Lease is left for Fabric8 to create. */
  public static void prepare(KubernetesClient client, String namespace, String name, Duration leaseDuration) {
    rewrite(client, namespace, name, spec -> completed(spec, leaseDuration));
  }

  private enum Write { WRITTEN, NOTHING, CONFLICT }

  /**
   * Replaces the Lease's spec with {@code change}'s answer (null: nothing to write) in a PUT carrying
   * the resourceVersion just read: if someone changed the Lease meanwhile, their change wins (409,
   * {@code CONFLICT}); no Lease or nothing to write is {@code NOTHING}.
   */
  private static Write rewrite(KubernetesClient client, String namespace, String name, UnaryOperator<LeaseSpec> change) {
    Lease lease = client.leases().inNamespace(namespace).withName(name).get();
    LeaseSpec spec = lease == null ? null : change.apply(lease.getSpec());
    if (spec == null) {
      return Write.NOTHING;
    }
    lease.setSpec(spec);
    try {
      client.resource(lease).update();
      return Write.WRITTEN;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        return Write.CONFLICT;
      }
      throw e;
    }
  }
}
