package io.safedefaults.microapp;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppStatus;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.secrets.SecretsCheck;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.approval.ApprovalGate;
import io.safedefaults.microapp.imagescan.ImageScanGate;
import io.safedefaults.microapp.status.Conditions;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.Observed;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the operator would report for an app once its children are applied and its pod is up,
 * computed without a cluster (the {@code check} command): the children rendered by the builders the
 * dependents use are taken as the observed children, then the operator's own Checklist and
 * Conditions.status run on them. What only the cluster can tell (the pod starts, the certificate is
 * issued, a sealed value opens) is taken to go well; a malformed sealed value fails as it would
 * there, and then, as in the operator, its Secret is not written and the app gets no Ingress.
 */
public record OnceApplied(MicroApp app, AppPlan plan, Observed observed, List<CheckResult> checks,
    MicroAppStatus status) {

  public static OnceApplied of(MicroApp app, OperatorConfig config) {
    AppPlan resolved = AppPlan.resolve(app, config);
    // Offline there are no scan reports: a required scan is pending, as it is for a new app in the cluster.
    ImageScan scan = ImageScanGate.judge(resolved, Optional.of(List.of()));
    // An approval a policy requires is of a generation the API server assigns: offline it is missing.
    AppPlan approved = ApprovalGate.problem(resolved, ApprovalGate.judge(app, resolved)).map(resolved::with)
        .orElse(resolved);
    AppPlan plan = ImageScanGate.problem(approved, scan).map(approved::with).orElse(approved);
    Unsealer.Unsealed sealed = Unsealer.inspect(app);
    Observed observed = observed(app, ManifestRenderer.render(app, plan), sealed.ok(), plan.config(), scan);
    List<CheckResult> checks = Checklist.checks(plan, SidecarConfig.json(plan), observed,
        SecretsCheck.offline(sealed, observed.sealedSecret()));
    MicroAppStatus status = Conditions.status(app, plan, observed, checks, sealed.statuses(), Optional.empty(),
        Instant.now());
    return new OnceApplied(app, plan, observed, checks, status);
  }

  /** The rendered children as the operator's caches would hold them once applied, the pod available. */
  static Observed observed(MicroApp app, List<HasMetadata> children, boolean sealedValuesOpen, OperatorConfig config,
      ImageScan scan) {
    String name = app.getMetadata().getName();
    Deployment deployment = child(children, Deployment.class, name);
    if (deployment != null) {
      int replicas = Optional.ofNullable(deployment.getSpec().getReplicas()).orElse(1);
      deployment = new DeploymentBuilder(deployment).withNewStatus().withReplicas(replicas)
          .withReadyReplicas(replicas).withAvailableReplicas(replicas).endStatus().build();
    }
    // UnsealedSecretDependent writes no Secret it cannot fill, and a child that fails keeps the Ingress away.
    return new Observed(
        child(children, ServiceAccount.class, name),
        child(children, ConfigMap.class, Names.sidecarConfigMap(app)),
        deployment,
        child(children, Service.class, name),
        sealedValuesOpen ? child(children, Ingress.class, name) : null,
        child(children, NetworkPolicy.class, name),
        sealedValuesOpen ? child(children, Secret.class, Names.sealedValuesSecret(app)) : null,
        child(children, CronJob.class, Names.purge(app)),
        null,
        List.of(),
        scan)
        .withGateway(accepted(child(children, HTTPRoute.class, Names.httpsRoute(app)), config.exposure()),
            accepted(child(children, HTTPRoute.class, Names.redirectRoute(app)), config.exposure()), null)
        .withEdgePolicy(accepted(child(children, io.fabric8.kubernetes.api.model.GenericKubernetesResource.class,
            Names.edgePolicy(app)), config.exposure()), true);
  }

  /**
   * A rendered edge policy as Envoy Gateway would report it once it accepts it on the Gateway. Offline
   * the cluster's CRDs are unknown: the policy's API is taken as served.
   */
  static io.fabric8.kubernetes.api.model.GenericKubernetesResource accepted(
      io.fabric8.kubernetes.api.model.GenericKubernetesResource policy, io.safedefaults.microapp.policy.Exposure exposure) {
    if (policy == null || !exposure.gatewayMode()) {
      return policy;
    }
    var copy = new io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder(policy).build();
    copy.setAdditionalProperties(new java.util.LinkedHashMap<>(policy.getAdditionalProperties()));
    copy.getAdditionalProperties().put("status", Map.of("ancestors", List.of(Map.of(
        "ancestorRef", Map.of("group", "gateway.networking.k8s.io", "kind", "Gateway",
            "name", exposure.gateway().name(), "namespace", exposure.gateway().namespace()),
        "controllerName", "offline/check",
        "conditions", List.of(Map.of("type", "Accepted", "status", "True", "reason", "Accepted"))))));
    return copy;
  }

  /**
   * A rendered route as a Gateway that accepts it would report it. Offline there is no Gateway to
   * ask: whether the platform's Gateway admits the app is known only in the cluster.
   */
  static HTTPRoute accepted(HTTPRoute route, io.safedefaults.microapp.policy.Exposure exposure) {
    if (route == null || !exposure.gatewayMode()) {
      return route;
    }
    var conditions = java.util.stream.Stream.of("Accepted", "ResolvedRefs").map(t -> new io.fabric8.kubernetes.api.model
        .ConditionBuilder().withType(t).withStatus("True").withReason(t).build()).toList();
    return new io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder(route).withNewStatus().addNewParent()
        .withParentRef(route.getSpec().getParentRefs().get(0)).withControllerName("offline/check")
        .withConditions(conditions).endParent().endStatus().build();
  }

  private static <T extends HasMetadata> T child(List<HasMetadata> children, Class<T> type, String name) {
    return children.stream().filter(type::isInstance).map(type::cast)
        .filter(c -> name.equals(c.getMetadata().getName())).findFirst().orElse(null);
  }

  public StatusCondition ready() {
    return Conditions.find(status, Conditions.READY).orElseThrow();
  }

  public boolean isReady() {
    return "True".equals(ready().getStatus());
  }

  /** The URL the app would be served at: set only when its Ingress would exist. */
  public Optional<String> url() {
    return Optional.ofNullable(status.getUrl());
  }

  /** Why an app with spec.host would get no Ingress: the first problem that blocks exposure. */
  public Optional<Problem> blockingProblem() {
    return plan.problems().stream().filter(Problem::blocksExposure).findFirst();
  }
}
