package io.safedefaults.microapp.e2e;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Arrays;
import java.util.List;

/**
 * The cluster and the operator, shared by every IT class of a run: started lazily by the first
 * test that needs them, torn down once by a JVM shutdown hook (operator first, then the control
 * plane). A failed start is remembered, so later classes fail fast with the same cause instead
 * of trying again.
 */
public final class E2E {

  private static ControlPlane controlPlane;
  private static OperatorProcess operatorProcess;
  private static E2E instance;
  private static RuntimeException clusterFailure;
  private static RuntimeException operatorFailure;

  private final ControlPlane cp;
  private final OperatorProcess operator;
  private final FakeKubelet fakeKubelet;
  private final ApiWriteCounter writeCounter;

  private E2E(ControlPlane cp, OperatorProcess operator) {
    this.cp = cp;
    this.operator = operator;
    this.fakeKubelet = new FakeKubelet(cp.client());
    this.writeCounter = new ApiWriteCounter(cp.client());
  }

  /** The cluster with the CRDs applied, without the operator (for the harness's own checks). */
  public static synchronized ControlPlane cluster() {
    if (controlPlane != null) {
      return controlPlane;
    }
    rethrow("the control plane", clusterFailure);
    try {
      ControlPlane cp = ControlPlane.start();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        OperatorProcess op;
        synchronized (E2E.class) {
          op = operatorProcess;
        }
        if (op != null) {
          op.stop();
        }
        cp.stop();
      }, "e2e-teardown"));
      controlPlane = cp;
      cp.applyCrds();
      // Where the operator keeps its sealing keys (its own namespace when installed by the chart).
      cp.kubectl().run("create", "namespace", OperatorProcess.KEYS_NAMESPACE).orFail();
      return cp;
    } catch (RuntimeException | Error e) {
      clusterFailure = e instanceof RuntimeException re ? re : new IllegalStateException(e.toString(), e);
      throw e;
    }
  }

  /** Cluster, CRDs and a running operator. */
  public static synchronized E2E get() {
    if (instance != null) {
      return instance;
    }
    ControlPlane cp = cluster();
    rethrow("the operator", operatorFailure);
    try {
      OperatorProcess op = new OperatorProcess(Env.operatorJar(cp.repoRoot()), cp.kubeconfig(), cp.targetDir(), extraOperatorArgs());
      operatorProcess = op;
      op.start();
      instance = new E2E(cp, op);
      return instance;
    } catch (RuntimeException | Error e) {
      operatorFailure = e instanceof RuntimeException re ? re : new IllegalStateException(e.toString(), e);
      throw e;
    }
  }

  private static void rethrow(String what, RuntimeException earlier) {
    if (earlier != null) {
      throw new IllegalStateException(what + " failed to start earlier in this run: " + earlier.getMessage(), earlier);
    }
  }

  /** Extra operator flags, space separated, from E2E_OPERATOR_ARGS (e.g. to try a renamed flag). */
  private static List<String> extraOperatorArgs() {
    String v = System.getenv("E2E_OPERATOR_ARGS");
    return v == null || v.isBlank() ? List.of() : Arrays.asList(v.strip().split("\\s+"));
  }

  public ControlPlane controlPlane() {
    return cp;
  }

  public OperatorProcess operator() {
    return operator;
  }

  public Kubectl kubectl() {
    return cp.kubectl();
  }

  public KubernetesClient client() {
    return cp.client();
  }

  public FakeKubelet fakeKubelet() {
    return fakeKubelet;
  }

  public ApiWriteCounter writeCounter() {
    return writeCounter;
  }
}
