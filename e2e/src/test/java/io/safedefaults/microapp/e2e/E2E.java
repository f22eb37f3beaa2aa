package io.safedefaults.microapp.e2e;

import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The platform and the operator, shared by every IT class of a run: started lazily by the first
 * test that needs them, torn down once by a JVM shutdown hook. A failed start is remembered, so
 * later classes fail fast with the same cause instead of trying again.
 */
public final class E2E {

  private static ControlPlane controlPlane;
  private static E2E instance;
  private static RuntimeException clusterFailure;
  private static RuntimeException operatorFailure;

  private final ControlPlane cp;
  private final InClusterOperator operator;
  private final ApiWriteCounter writeCounter;
  private final IngressHttp ingress;

  private E2E(ControlPlane cp, InClusterOperator operator) {
    this.cp = cp;
    this.operator = operator;
    this.writeCounter = new ApiWriteCounter(cp.client());
    this.ingress = new IngressHttp(cp.ingressAddress(), cp.ingressCa());
  }

  /** The platform (node, ingress controller, CA issuer, provider, the operator's release). */
  public static synchronized ControlPlane cluster() {
    if (controlPlane != null) {
      return controlPlane;
    }
    rethrow("the platform", clusterFailure);
    try {
      ControlPlane cp = ControlPlane.start();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        E2E e;
        synchronized (E2E.class) {
          e = instance;
        }
        if (e != null) {
          e.operator.close();
        }
        cp.stop();
      }, "e2e-teardown"));
      controlPlane = cp;
      return cp;
    } catch (RuntimeException | Error e) {
      clusterFailure = e instanceof RuntimeException re ? re : new IllegalStateException(e.toString(), e);
      throw e;
    }
  }

  /** The platform with the operator's pod ready and its log followed. */
  public static synchronized E2E get() {
    if (instance != null) {
      return instance;
    }
    ControlPlane cp = cluster();
    rethrow("the operator", operatorFailure);
    try {
      instance = new E2E(cp, new InClusterOperator(cp.client(), cp.kubectl(), cp.targetDir()));
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

  public ControlPlane controlPlane() {
    return cp;
  }

  public InClusterOperator operator() {
    return operator;
  }

  public Kubectl kubectl() {
    return cp.kubectl();
  }

  public KubernetesClient client() {
    return cp.client();
  }

  public ApiWriteCounter writeCounter() {
    return writeCounter;
  }

  /** HTTPS to app hosts through the cluster's ingress controller, checked against the cluster CA. */
  public IngressHttp ingress() {
    return ingress;
  }
}
