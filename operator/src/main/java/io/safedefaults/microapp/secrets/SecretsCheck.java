package io.safedefaults.microapp.secrets;

import static io.safedefaults.microapp.status.CheckResult.Item.SECRETS_SEALED;

import io.fabric8.kubernetes.api.model.Secret;
import io.safedefaults.microapp.status.CheckResult;

/** Checklist 6: every secret value arrives sealed and opens; nothing is plaintext in the spec. */
public final class SecretsCheck {
  private SecretsCheck() {}

  public static CheckResult check(Unsealer.Unsealed unsealed, Secret observed) {
    if (!unsealed.declaresAny()) {
      return CheckResult.passed(SECRETS_SEALED, "NoSecrets", "no secret values declared");
    }
    if (!unsealed.ok()) {
      Unsealer.Failure first = unsealed.failures().get(0);
      if (SealedValueDecryptor.KEYS_MISSING.equals(first.reason())) {
        // One cause for every value: say it once, with the way back, rather than per field.
        return CheckResult.failed(SECRETS_SEALED, first.reason(), first.message().substring(
            (first.field() + " cannot be opened: ").length()) + "; until then " + unsealed.failures().size()
            + " sealed value(s) cannot be opened" + (observed == null ? "" : ", the previous values stay in place"));
      }
      String more = unsealed.failures().size() > 1 ? " (and " + (unsealed.failures().size() - 1) + " more)" : "";
      return CheckResult.failed(SECRETS_SEALED, first.reason(), first.message() + more
          + (observed == null ? "" : "; the previous values stay in place"));
    }
    if (observed == null) {
      return CheckResult.failed(SECRETS_SEALED, "SecretPending", "the Secret with the opened values does not (yet) exist");
    }
    long old = unsealed.statuses().stream().filter(s -> !Boolean.TRUE.equals(s.currentKey())).count();
    return CheckResult.passed(SECRETS_SEALED, "Unsealed", unsealed.statuses().size() + " sealed value(s) opened"
        + (old > 0 ? ", " + old + " sealed with an older key (run 'microapp-operator reseal')" : ""));
  }

  /**
   * Checklist 6 offline ({@code microapp-operator check}), from Unsealer#inspect and the Secret the
   * operator would write (null when it would write none): a malformed value fails as it would in the
   * cluster on first apply; a well-formed one is not claimed to open, since only the cluster's
   * private key can tell whether it was sealed for this app with a key it has.
   */
  public static CheckResult offline(Unsealer.Unsealed inspected, Secret rendered) {
    if (!inspected.declaresAny() || !inspected.ok() || rendered == null) {
      return check(inspected, rendered);
    }
    return CheckResult.passed(SECRETS_SEALED, "SealedWellFormed", inspected.statuses().size()
        + " sealed value(s), each well-formed; not opened offline: only the cluster's private key shows whether"
        + " each was sealed for this app and key with a key the cluster has");
  }
}
