package io.safedefaults.microapp.secrets;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.dependent.ManagedDependent;
import io.safedefaults.microapp.kube.Names;

/**
 * Keeps the app's opened values in a Secret it owns. When any value fails to open, the previous
 * Secret stays exactly as it was (checklist 6: a bad ciphertext never wipes working values) and
 * the status says which value failed and why.
 */
public class UnsealedSecretDependent extends ManagedDependent<Secret> {
  public static final String NAME = "sealed-secret";
  /**
   * Key of the app's opened values in the reconcile context: the reconciler opens them once a
   * reconcile, for this Secret and for the status alike.
   */
  public static final String OPENED = "unsealed";

  public UnsealedSecretDependent() {
    super(Secret.class, NAME, Names::sealedValuesSecret);
  }

  @Override
  protected Secret desired(MicroApp app, Context<MicroApp> context) {
    Unsealer.Unsealed unsealed = context.managedWorkflowAndDependentResourceContext()
        .getMandatory(OPENED, Unsealer.Unsealed.class);
    if (unsealed.ok()) {
      return UnsealedSecret.desired(app, unsealed);
    }
    Secret previous = getSecondaryResource(app, context)
        .orElseThrow(() -> new IllegalStateException("sealed values could not be opened; no Secret created"));
    return new SecretBuilder(previous).build();
  }
}
