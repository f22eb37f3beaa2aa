package io.safedefaults.microapp.workload;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;

/** The app's Service targets the sidecar's port only; the app's own port is never exposed (checklist 1). */
public final class AppService {
  public static final String PORT_NAME = "http";

  private AppService() {}

  public static Service desired(MicroApp app) {
    return new ServiceBuilder()
        .withMetadata(Names.metadata(app, app.getMetadata().getName()))
        .withNewSpec()
        .withType("ClusterIP")
        .withSelector(Names.selector(app))
        .addNewPort()
        .withName(PORT_NAME)
        .withPort(Names.SERVICE_PORT)
        .withProtocol("TCP")
        .withTargetPort(new IntOrString(Names.SIDECAR_PORT_NAME))
        .endPort()
        .endSpec()
        .build();
  }

  /**
   * The Service exposes exactly the desired ports: another port, added by hand next to the
   * operator's, would route past the sidecar's and stays under server-side apply.
   */
  public static boolean onlyDesiredPorts(Service actual, Service desired) {
    return ports(actual).equals(ports(desired));
  }

  private static java.util.Set<String> ports(Service s) {
    if (s.getSpec() == null || s.getSpec().getPorts() == null) {
      return java.util.Set.of();
    }
    return s.getSpec().getPorts().stream().map(p -> p.getName() + "|" + p.getPort() + "|"
        + (p.getProtocol() == null ? "TCP" : p.getProtocol()) + "|"
        + (p.getTargetPort() == null ? String.valueOf(p.getPort()) : p.getTargetPort().getStrVal() != null
            ? p.getTargetPort().getStrVal() : String.valueOf(p.getTargetPort().getIntVal())))
        .collect(java.util.stream.Collectors.toSet());
  }
}
