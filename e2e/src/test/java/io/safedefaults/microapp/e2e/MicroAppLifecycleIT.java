package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressTLS;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.safedefaults.microapp.api.MicroApp;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The life of the where2eat example in its own restricted namespace: what the operator creates,
 * the status it reports, drift repair, a spec change and deletion. The steps build on each
 * other and run in order.
 */
@Order(2)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MicroAppLifecycleIT extends E2ETestBase {

  static final String APP = "where2eat";
  static final int SIDECAR_PORT = 4180;
  static final int APP_PORT = 8080;
  static String ns;

  @BeforeAll
  static void applyExample() {
    ns = newNamespace("lifecycle");
    applyExampleIn("where2eat.yaml", ns).orFail();
  }

  @Test
  @Order(1)
  void createsLockedDownChildResources() {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      assertThat(client().serviceAccounts().inNamespace(ns).withName(APP).get()).as("ServiceAccount").isNotNull();
      assertThat(client().apps().deployments().inNamespace(ns).withName(APP).get()).as("Deployment").isNotNull();
      assertThat(client().services().inNamespace(ns).withName(APP).get()).as("Service").isNotNull();
      assertThat(client().network().v1().ingresses().inNamespace(ns).withName(APP).get()).as("Ingress").isNotNull();
      assertThat(client().network().v1().networkPolicies().inNamespace(ns).withName(APP).get()).as("NetworkPolicy").isNotNull();
    });

    ServiceAccount sa = client().serviceAccounts().inNamespace(ns).withName(APP).get();
    assertThat(sa.getAutomountServiceAccountToken()).as("ServiceAccount automountServiceAccountToken").isFalse();

    Deployment deployment = client().apps().deployments().inNamespace(ns).withName(APP).get();
    PodSpec pod = deployment.getSpec().getTemplate().getSpec();
    assertPodLockedDown(pod, APP);

    Service service = client().services().inNamespace(ns).withName(APP).get();
    assertServiceTargetsSidecarOnly(service, pod);
    assertThat(service.getSpec().getSelector()).as("Service selector").isNotEmpty();
    assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels()).as("pod labels match the Service selector")
        .containsAllEntriesOf(service.getSpec().getSelector());

    Ingress ingress = client().network().v1().ingresses().inNamespace(ns).withName(APP).get();
    assertIngressLockedDown(ingress, appHost(APP, ns), "where2eat-tls", "100");
    assertThat(ingress.getSpec().getRules()).as("Ingress rules").allSatisfy(rule -> {
      assertThat(rule.getHost()).isEqualTo(appHost(APP, ns));
      assertThat(rule.getHttp().getPaths()).allSatisfy(p -> assertThat(p.getBackend().getService().getName()).isEqualTo(APP));
    });

    NetworkPolicy np = client().network().v1().networkPolicies().inNamespace(ns).withName(APP).get();
    assertNetworkPolicyAdmitsSidecarOnly(np, pod, deployment.getSpec().getTemplate().getMetadata().getLabels());

    assertThat(client().rbac().roleBindings().inNamespace(ns).list().getItems()).as("RoleBindings in the namespace").isEmpty();

    // Pods exist = the template passed the API server's Pod Security "restricted" admission.
    try {
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1))
          .until(() -> !client().pods().inNamespace(ns).withLabel("safedefaults.io/app", APP).list().getItems().isEmpty());
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("no pod of Deployment " + APP + " was created; FailedCreate events: " + failedCreateEvents(ns), e);
    }
  }

  @Test
  @Order(2)
  void statusReportsEveryDefault() {
    MicroApp app = awaitReady(ns, APP, ExamplesIT.READY);
    String desc = describeStatus(app);
    assertThat(app.getStatus().getObservedGeneration()).as(desc).isEqualTo(app.getMetadata().getGeneration());
    for (String type : List.of("Ready", "AuthEnforced", "TLSEnforced", "RateLimited", "LeastPrivilege")) {
      assertThat(conditionStatus(app, type)).as("condition %s; %s", type, desc).isEqualTo("True");
    }
    assertThat(app.getStatus().getChecklist()).as(desc).isNotNull();
    assertThat(app.getStatus().getChecklist().getTotal()).as(desc).isPositive();
    // every item passes but the image scan, which this cluster's policy does not require (relaxed)
    assertThat(app.getStatus().getChecklist().getPassed()).as(desc).isEqualTo(app.getStatus().getChecklist().getTotal() - 1);
    assertThat(app.getStatus().getChecklist().getRelaxed()).as(desc).containsExactly("imageScanned");
    assertThat(app.getStatus().getUrl()).as(desc).isEqualTo("https://" + appHost(APP, ns));
    Deployment d = client().apps().deployments().inNamespace(ns).withName(APP).get();
    assertThat(d.getStatus().getAvailableReplicas()).as("Deployment availableReplicas").isGreaterThanOrEqualTo(1);
  }

  @Test
  @Order(3)
  void kubectlGetShowsPrinterColumnsAndShortName() {
    Kubectl.Result get = kubectl().run("get", "microapps", "-n", ns).orFail();
    String header = get.stdout().lines().findFirst().orElse("");
    assertThat(header).as("kubectl get microapps header:\n%s", get.stdout())
        .contains("READY", "VISIBILITY", "HOST", "CHECKLIST");
    assertThat(get.stdout()).contains(APP, appHost(APP, ns), "private");
    Kubectl.Result shortName = kubectl().run("get", "mapp", "-n", ns).orFail();
    assertThat(shortName.stdout()).contains(APP);
  }

  @Test
  @Order(4)
  void serviceDeletedByHandComesBack() {
    String oldUid = client().services().inNamespace(ns).withName(APP).get().getMetadata().getUid();
    kubectl().run("delete", "service", APP, "-n", ns).orFail();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      Service s = client().services().inNamespace(ns).withName(APP).get();
      assertThat(s).as("Service recreated").isNotNull();
      assertThat(s.getMetadata().getUid()).isNotEqualTo(oldUid);
    });
    Deployment d = client().apps().deployments().inNamespace(ns).withName(APP).get();
    assertServiceTargetsSidecarOnly(client().services().inNamespace(ns).withName(APP).get(), d.getSpec().getTemplate().getSpec());
  }

  @Test
  @Order(5)
  void deploymentEditedByHandIsRestored() {
    Deployment before = client().apps().deployments().inNamespace(ns).withName(APP).get();
    List<Container> containers = before.getSpec().getTemplate().getSpec().getContainers();
    int appIdx = indexOf(containers, "app");
    String image = containers.get(appIdx).getImage();
    assertThat(image).isEqualTo("ghcr.io/acme/where2eat:1.4.2");

    kubectl().run("patch", "deployment", APP, "-n", ns, "--type=json",
        "-p", "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/" + appIdx + "/image\",\"value\":\"ghcr.io/evil/miner:latest\"}]").orFail();
    await("app image restored").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      Deployment d = client().apps().deployments().inNamespace(ns).withName(APP).get();
      assertThat(container(d, "app").map(Container::getImage)).hasValue(image);
    });

    int proxyIdx = indexOf(client().apps().deployments().inNamespace(ns).withName(APP).get()
        .getSpec().getTemplate().getSpec().getContainers(), "auth-proxy");
    kubectl().run("patch", "deployment", APP, "-n", ns, "--type=json",
        "-p", "[{\"op\":\"remove\",\"path\":\"/spec/template/spec/containers/" + proxyIdx + "\"}]").orFail();
    await("auth-proxy container restored").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      Deployment d = client().apps().deployments().inNamespace(ns).withName(APP).get();
      assertThat(container(d, "auth-proxy")).isPresent();
      assertPodLockedDown(d.getSpec().getTemplate().getSpec(), APP);
    });
    assertOperatorAlive();
  }

  @Test
  @Order(6)
  void ingressAnnotationRemovedByHandIsRestored() {
    kubectl().run("annotate", "ingress", APP, "-n", ns, "nginx.ingress.kubernetes.io/force-ssl-redirect-").orFail();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      Ingress i = client().network().v1().ingresses().inNamespace(ns).withName(APP).get();
      assertThat(i.getMetadata().getAnnotations()).containsEntry("nginx.ingress.kubernetes.io/force-ssl-redirect", "true");
    });
  }

  @Test
  @Order(7)
  void rateLimitChangeReachesTheIngress() {
    kubectl().run("patch", "microapp", APP, "-n", ns, "--type=merge",
        "-p", "{\"spec\":{\"rateLimit\":{\"perIP\":{\"requestsPerMinute\":50}}}}").orFail();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      Ingress i = client().network().v1().ingresses().inNamespace(ns).withName(APP).get();
      assertThat(i.getMetadata().getAnnotations()).containsEntry("nginx.ingress.kubernetes.io/limit-rpm", "50");
    });
    MicroApp app = awaitReady(ns, APP, Duration.ofSeconds(60));
    assertThat(app.getStatus().getObservedGeneration()).isEqualTo(app.getMetadata().getGeneration());
  }

  @Test
  @Order(8)
  void deletingTheMicroAppRemovesEverythingItOwned() {
    kubectl().run(null, Duration.ofSeconds(90), "delete", "microapp", APP, "-n", ns, "--timeout=60s").orFail();
    // Owner references + the garbage collector, which rediscovers new resource types every 30 s.
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
      assertThat(client().apps().deployments().inNamespace(ns).withName(APP).get()).as("Deployment").isNull();
      assertThat(client().services().inNamespace(ns).withName(APP).get()).as("Service").isNull();
      assertThat(client().network().v1().ingresses().inNamespace(ns).withName(APP).get()).as("Ingress").isNull();
      assertThat(client().network().v1().networkPolicies().inNamespace(ns).withName(APP).get()).as("NetworkPolicy").isNull();
      assertThat(client().serviceAccounts().inNamespace(ns).withName(APP).get()).as("ServiceAccount").isNull();
      assertThat(client().pods().inNamespace(ns).withLabel("safedefaults.io/app", APP).list().getItems())
          .as("the app's pods (stopped by the kubelet, removed)").isEmpty();
    });
    assertOperatorAlive();
  }

  // ---------------------------------------------------------------------------------------------

  /** Pod Security "restricted" and least privilege, container by container. */
  static void assertPodLockedDown(PodSpec pod, String serviceAccount) {
    assertThat(pod.getContainers()).extracting(Container::getName).as("containers")
        .containsExactlyInAnyOrder("app", "auth-proxy");
    assertThat(pod.getAutomountServiceAccountToken()).as("pod automountServiceAccountToken").isFalse();
    assertThat(pod.getServiceAccountName()).as("pod serviceAccountName").isEqualTo(serviceAccount);
    PodSecurityContext psc = Optional.ofNullable(pod.getSecurityContext()).orElse(new PodSecurityContext());
    assertThat(psc.getSeccompProfile()).as("pod seccompProfile").isNotNull();
    assertThat(psc.getSeccompProfile().getType()).as("pod seccompProfile.type").isEqualTo("RuntimeDefault");
    for (Container c : pod.getContainers()) {
      SecurityContext sc = c.getSecurityContext();
      assertThat(sc).as("%s securityContext", c.getName()).isNotNull();
      assertThat(sc.getRunAsNonRoot()).as("%s runAsNonRoot", c.getName()).isTrue();
      assertThat(sc.getAllowPrivilegeEscalation()).as("%s allowPrivilegeEscalation", c.getName()).isFalse();
      assertThat(sc.getReadOnlyRootFilesystem()).as("%s readOnlyRootFilesystem", c.getName()).isTrue();
      assertThat(sc.getPrivileged()).as("%s privileged", c.getName()).isNotEqualTo(Boolean.TRUE);
      Capabilities caps = sc.getCapabilities();
      assertThat(caps).as("%s capabilities", c.getName()).isNotNull();
      assertThat(caps.getDrop()).as("%s capabilities.drop", c.getName()).contains("ALL");
      assertThat(Optional.ofNullable(caps.getAdd()).orElse(List.of())).as("%s capabilities.add", c.getName()).isEmpty();
      if (sc.getSeccompProfile() != null) {
        assertThat(sc.getSeccompProfile().getType()).as("%s seccompProfile", c.getName()).isEqualTo("RuntimeDefault");
      }
    }
  }

  /** The Service's only port reaches the sidecar (4180), never the app port. */
  static void assertServiceTargetsSidecarOnly(Service service, PodSpec pod) {
    List<ServicePort> ports = service.getSpec().getPorts();
    assertThat(ports).as("Service ports").hasSize(1);
    ServicePort p = ports.get(0);
    assertThat(p.getName()).as("Service port name").isEqualTo("http");
    IntOrString target = p.getTargetPort();
    assertThat(target).as("Service targetPort").isNotNull();
    Integer resolved;
    if (target.getStrVal() != null) {
      assertThat(target.getStrVal()).as("Service targetPort name").isEqualTo("auth-http");
      resolved = namedPort(pod, "auth-proxy", target.getStrVal());
      assertThat(namedPort(pod, "app", target.getStrVal())).as("app container must not carry the port name %s", target.getStrVal())
          .isNull();
    } else {
      resolved = target.getIntVal();
    }
    assertThat(resolved).as("Service targetPort (resolved)").isEqualTo(SIDECAR_PORT).isNotEqualTo(APP_PORT);
  }

  static Integer namedPort(PodSpec pod, String container, String portName) {
    return pod.getContainers().stream().filter(c -> container.equals(c.getName()))
        .flatMap(c -> Optional.ofNullable(c.getPorts()).orElse(List.of()).stream())
        .filter(cp -> portName.equals(cp.getName())).map(ContainerPort::getContainerPort).findFirst().orElse(null);
  }

  static void assertIngressLockedDown(Ingress ingress, String host, String secretName, String rpm) {
    List<IngressTLS> tls = Optional.ofNullable(ingress.getSpec().getTls()).orElse(List.of());
    assertThat(tls).as("Ingress tls").anySatisfy(t -> {
      assertThat(t.getHosts()).contains(host);
      assertThat(t.getSecretName()).isEqualTo(secretName);
    });
    Map<String, String> a = Optional.ofNullable(ingress.getMetadata().getAnnotations()).orElse(Map.of());
    assertThat(a).as("Ingress annotations")
        .containsEntry("cert-manager.io/cluster-issuer", "microapp-local-ca")
        .containsEntry("nginx.ingress.kubernetes.io/force-ssl-redirect", "true")
        .containsEntry("nginx.ingress.kubernetes.io/limit-rpm", rpm);
    assertThat(a.keySet()).as("Ingress annotations (no snippets: IngressNightmare)").noneMatch(k -> k.contains("snippet"));
    String ingressClass = Optional.ofNullable(ingress.getSpec().getIngressClassName())
        .orElse(a.get("kubernetes.io/ingress.class"));
    assertThat(ingressClass).as("Ingress class").isEqualTo("nginx");
  }

  /** Default deny: policy type Ingress, and every admitted port is the sidecar's. */
  static void assertNetworkPolicyAdmitsSidecarOnly(NetworkPolicy np, PodSpec pod, Map<String, String> podLabels) {
    assertThat(np.getSpec().getPolicyTypes()).as("NetworkPolicy policyTypes").containsExactly("Ingress");
    assertThat(np.getSpec().getPodSelector().getMatchLabels()).as("NetworkPolicy podSelector").isNotEmpty();
    assertThat(podLabels).as("pod labels match the NetworkPolicy podSelector")
        .containsAllEntriesOf(np.getSpec().getPodSelector().getMatchLabels());
    List<NetworkPolicyIngressRule> rules = Optional.ofNullable(np.getSpec().getIngress()).orElse(List.of());
    assertThat(rules).as("NetworkPolicy ingress rules").isNotEmpty();
    for (NetworkPolicyIngressRule rule : rules) {
      List<NetworkPolicyPort> ports = Optional.ofNullable(rule.getPorts()).orElse(List.of());
      assertThat(ports).as("every ingress rule names its ports (an empty list admits all)").isNotEmpty();
      for (NetworkPolicyPort port : ports) {
        IntOrString p = port.getPort();
        assertThat(p).as("NetworkPolicy port").isNotNull();
        Integer resolved = p.getStrVal() != null ? namedPort(pod, "auth-proxy", p.getStrVal()) : p.getIntVal();
        assertThat(resolved).as("NetworkPolicy admitted port %s", p).isEqualTo(SIDECAR_PORT);
        assertThat(port.getEndPort()).as("NetworkPolicy endPort").isNull();
      }
    }
  }

  static int indexOf(List<Container> containers, String name) {
    for (int i = 0; i < containers.size(); i++) {
      if (name.equals(containers.get(i).getName())) {
        return i;
      }
    }
    throw new AssertionError("no container " + name + " in " + containers.stream().map(Container::getName).toList());
  }

  static Optional<Container> container(Deployment d, String name) {
    return d.getSpec().getTemplate().getSpec().getContainers().stream().filter(c -> name.equals(c.getName())).findFirst();
  }

  static String failedCreateEvents(String namespace) {
    return client().v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> "FailedCreate".equals(e.getReason()) || "Warning".equals(e.getType()))
        .map(Event::getMessage).filter(Objects::nonNull).distinct().collect(Collectors.joining("\n  ", "\n  ", ""));
  }
}
