package io.safedefaults.microapp;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceUtils;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Workflow;
import io.javaoperatorsdk.operator.processing.dependent.workflow.WorkflowBuilder;
import io.javaoperatorsdk.operator.processing.dependent.workflow.WorkflowReconcileResult;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.safedefaults.microapp.access.AppNetworkPolicy;
import io.safedefaults.microapp.access.AppServiceAccount;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppStatus;
import io.safedefaults.microapp.api.StatusCondition;
import io.safedefaults.microapp.approval.Approval;
import io.safedefaults.microapp.approval.ApprovalGate;
import io.safedefaults.microapp.approval.SpecOrApprovalChanged;
import io.safedefaults.microapp.audit.AuditLog;
import io.safedefaults.microapp.audit.EventRecorder;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.auth.SessionKeyRotation;
import io.safedefaults.microapp.auth.SessionKeys;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.dependent.GeneratedSecretDependent;
import io.safedefaults.microapp.dependent.GenericManagedDependent;
import io.safedefaults.microapp.policy.EdgeLimits;
import io.safedefaults.microapp.ratelimit.EnvoyGatewayPolicy;
import io.safedefaults.microapp.dependent.ManagedDependent;
import io.safedefaults.microapp.kube.ChildOwnership;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.policy.Problem;
import io.safedefaults.microapp.retention.PurgeJob;
import io.safedefaults.microapp.secrets.SealedValueDecryptor;
import io.safedefaults.microapp.secrets.UnsealedSecretDependent;
import io.safedefaults.microapp.secrets.Unsealer;
import io.safedefaults.microapp.imagescan.ImageScanGate;
import io.safedefaults.microapp.imagescan.ScanSource;
import io.safedefaults.microapp.status.ApplyError;
import io.safedefaults.microapp.status.CheckResult;
import io.safedefaults.microapp.status.Conditions;
import io.safedefaults.microapp.status.ImageScan;
import io.safedefaults.microapp.status.Observed;
import io.safedefaults.microapp.tls.GatewayListeners;
import io.safedefaults.microapp.tls.GatewayRoutes;
import io.safedefaults.microapp.tls.IngressTlsDefault;
import io.safedefaults.microapp.workload.AppDeployment;
import io.safedefaults.microapp.workload.AppService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a MicroApp into its secured children, then reports what it observed. Children are applied
 * by one workflow of dependents whose desired state is a pure function of the app and the cluster
 * policy; the Ingress is applied only while auth and TLS can be set up, and deleted otherwise.
 */
// Generation-aware processing would drop approvals (annotation changes keep the generation): the
// filter passes new generations, deletions and approval changes, and still not our status writes.
@ControllerConfiguration(name = MicroAppReconciler.NAME, generationAwareEventProcessing = false,
    informer = @io.javaoperatorsdk.operator.api.config.informer.Informer(onUpdateFilter = SpecOrApprovalChanged.class))
public class MicroAppReconciler implements Reconciler<MicroApp> {
  public static final String NAME = "microapp";
  private static final Logger LOG = LoggerFactory.getLogger(MicroAppReconciler.class);
  /** Reasons that describe progress rather than a problem: no Warning event for them. */
  private static final Set<String> TRANSIENT = Set.of("PodsNotReady", "SidecarMissing", "ServiceBypassesSidecar",
      "SidecarConfigPending", "EdgeLimitsPending", "IngressPending", "RoutePending", "ServiceAccountPending",
      "PodNotRestricted", "NetworkPolicyPending", "SecretPending", "PurgePending", "ScanPending");

  /** The policy of a namespace: the operator's flags merged with the MicroAppPolicies selecting it. */
  private final java.util.function.Function<String, OperatorConfig> policies;
  private final io.safedefaults.microapp.hosts.HostClaims hostClaims;
  /** Where the vulnerability gate reads scan reports; none until {@link #scanReports(ScanSource)}. */
  private volatile ScanSource scanReports = ScanSource.NONE;
  private final OperatorMetrics metrics;
  private final AuditLog audit = new AuditLog();
  private volatile io.safedefaults.microapp.audit.OverrideNotifications notifications =
      io.safedefaults.microapp.audit.OverrideNotifications.NONE;
  private final Workflow<MicroApp> workflow;
  /** The Ingress alone, reconciled after every other child: see reconcile(). */
  private final Workflow<MicroApp> exposure;
  /** Set by converge(): the app may be exposed and every other child applied. */
  private static final String EXPOSE = "expose";
  /** Set by converge(): the plan's SidecarConfig#json. */
  private static final String SIDECAR_CONFIG = "sidecar-config";
  /** The last failure per app that threw, for backoff and for logging each cause once. */
  private record Failure(String cause, int attempts) {}
  private final Map<String, Failure> failures = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, ApplyError> applyErrors = new java.util.concurrent.ConcurrentHashMap<>();
  /** The generation whose approval was last recorded per app, so each approval is audited once. */
  private final Map<String, Long> approvalsRecorded = new java.util.concurrent.ConcurrentHashMap<>();
  static final Duration FORGET_EVERY = Duration.ofSeconds(10);
  private final java.util.concurrent.atomic.AtomicLong lastForgotten =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - FORGET_EVERY.toNanos());
  /**
   * Condition states already announced per app (by UID: an app deleted and created again under its
   * name starts afresh), so a reconcile that ran on a stale cache does not repeat Events.
   */
  private final Map<String, Map<String, String>> announced = new java.util.concurrent.ConcurrentHashMap<>();

  private final Supplier<SealedValueDecryptor> decryptor;
  private final ManagedDependent<ServiceAccount> serviceAccount;
  private final ManagedDependent<ConfigMap> sidecarConfig;
  private final ManagedDependent<Deployment> deployment;
  private final ManagedDependent<Service> service;
  private final ManagedDependent<NetworkPolicy> networkPolicy;
  private final ManagedDependent<Ingress> ingress;
  /** Gateway mode's routes; null when the cluster does not serve the Gateway API. */
  private final ManagedDependent<HTTPRoute> httpsRoute;
  private final ManagedDependent<HTTPRoute> redirectRoute;
  /** The Gateways apps attach to, read from a cache (never written); null without the Gateway API. */
  private volatile InformerEventSource<Gateway, MicroApp> gateways;
  private final boolean gatewayApi;
  /** Gateway mode's edge rate limit (Envoy Gateway BackendTrafficPolicy); null when its CRD is not served. */
  private final GenericManagedDependent edgePolicy;
  private final boolean edgePolicyApi;
  private final UnsealedSecretDependent sealedSecret;
  private final ManagedDependent<CronJob> purgeCronJob;
  private final ManagedDependent<ConfigMap> purgeConfig;
  private final GeneratedSecretDependent sessionKeys;
  /** The session KMS key (--kms-session-key-uri), or null: set once before the operator starts. */
  private volatile io.safedefaults.microapp.auth.SessionKeyWrapping sessionKeyWrapping;
  private final Duration sessionKeyRotation;
  private final java.time.Clock clock;
  /** Reconciles the apps with sealed values when the cluster's sealing keys come or go. */
  private final SimpleInboundEventSource<MicroApp> sealingKeys = new SimpleInboundEventSource<>("sealing-keys");
  /** Reconciles the apps of namespaces whose policy changed (PolicyWatch). */
  private final SimpleInboundEventSource<MicroApp> policyChanges = new SimpleInboundEventSource<>("policies");
  private volatile io.javaoperatorsdk.operator.api.reconciler.IndexedResourceCache<MicroApp> apps;
  /** Namespaces this instance may write in now: all, or its shard's (NamespaceShard#owns). */
  private volatile java.util.function.Predicate<String> writesIn = ns -> true;
  /** Each app's checklist as an OpenReports Report, where the cluster serves them. */
  final io.safedefaults.microapp.reports.ReportPublisher reports = new io.safedefaults.microapp.reports.ReportPublisher();

  public MicroAppReconciler(OperatorConfig config, OperatorMetrics metrics, Supplier<SealedValueDecryptor> decryptor) {
    this(config, metrics, decryptor, Duration.ofDays(30), java.time.Clock.systemUTC());
  }

  /** One policy for every namespace; host claims in the namespace "default" (tests). */
  public MicroAppReconciler(OperatorConfig config, OperatorMetrics metrics, Supplier<SealedValueDecryptor> decryptor,
      Duration sessionKeyRotation, java.time.Clock clock) {
    this(ns -> config, new io.safedefaults.microapp.hosts.HostClaims("default"), metrics, decryptor,
        sessionKeyRotation, clock);
  }

  /** Without the Gateway API: apps in gateway mode report GatewayApiMissing. */
  public MicroAppReconciler(java.util.function.Function<String, OperatorConfig> policies,
      io.safedefaults.microapp.hosts.HostClaims hostClaims, OperatorMetrics metrics,
      Supplier<SealedValueDecryptor> decryptor, Duration sessionKeyRotation, java.time.Clock clock) {
    this(policies, hostClaims, metrics, decryptor, sessionKeyRotation, clock, false);
  }

  /**
   * @param policies the policy of each namespace (PolicyWatch)
   * @param hostClaims who holds which host, in the operator's namespace
   * @param sessionKeyRotation age of an app's primary session key before a new one (--key-rotation-days)
   * @param gatewayApi whether the cluster serves gateway.networking.k8s.io/v1 HTTPRoutes and Gateways (read at
   *     start: routes and Gateways are watched only then)
   */
  public MicroAppReconciler(java.util.function.Function<String, OperatorConfig> policies,
      io.safedefaults.microapp.hosts.HostClaims hostClaims, OperatorMetrics metrics,
      Supplier<SealedValueDecryptor> decryptor, Duration sessionKeyRotation, java.time.Clock clock,
      boolean gatewayApi) {
    this(policies, hostClaims, metrics, decryptor, sessionKeyRotation, clock, gatewayApi, false);
  }

  /**
   * @param edgePolicyApi whether the cluster serves Envoy Gateway's BackendTrafficPolicy
   *     (gateway.envoyproxy.io/v1alpha1), read at start: only then are policies written, watched and
   *     removed; with --gateway-edge-limits envoy-gateway and no such API, RateLimited says what to install
   */
  public MicroAppReconciler(java.util.function.Function<String, OperatorConfig> policies,
      io.safedefaults.microapp.hosts.HostClaims hostClaims, OperatorMetrics metrics,
      Supplier<SealedValueDecryptor> decryptor, Duration sessionKeyRotation, java.time.Clock clock,
      boolean gatewayApi, boolean edgePolicyApi) {
    this.gatewayApi = gatewayApi;
    this.edgePolicyApi = gatewayApi && edgePolicyApi;
    this.sessionKeyRotation = sessionKeyRotation;
    this.clock = clock;
    this.policies = policies;
    this.hostClaims = hostClaims;
    this.metrics = metrics;
    this.decryptor = decryptor;
    serviceAccount = new ManagedDependent<>(ServiceAccount.class, "service-account",
        a -> a.getMetadata().getName(), (a, p) -> AppServiceAccount.desired(a));
    sidecarConfig = ManagedDependent.fromContext(ConfigMap.class, "sidecar-config", Names::sidecarConfigMap,
        (a, ctx) -> SidecarConfig.desired(a, ManagedDependent.plan(ctx), sidecarConfig(ctx)));
    sessionKeys = new GeneratedSecretDependent("session-keys", Names::sessionKeysSecret,
        app -> SessionKeys.desired(app, sessionKeyWrapping));
    sealedSecret = new UnsealedSecretDependent();
    deployment = ManagedDependent.fromContext(Deployment.class, "deployment", a -> a.getMetadata().getName(),
        (a, ctx) -> AppDeployment.desired(a, ManagedDependent.plan(ctx),
            SidecarConfig.contentHash(ManagedDependent.plan(ctx), sidecarConfig(ctx))));
    service = new ManagedDependent<>(Service.class, "service",
        a -> a.getMetadata().getName(), (a, p) -> AppService.desired(a)).ownsListsAlone(AppService::onlyDesiredPorts);
    networkPolicy = new ManagedDependent<>(NetworkPolicy.class, "network-policy",
        a -> a.getMetadata().getName(), AppNetworkPolicy::desired);
    ingress = new ManagedDependent<>(Ingress.class, "ingress",
        a -> a.getMetadata().getName(), IngressTlsDefault::desired);
    httpsRoute = gatewayApi ? new ManagedDependent<>(HTTPRoute.class, "https-route", Names::httpsRoute,
        GatewayRoutes::https) : null;
    redirectRoute = gatewayApi ? new ManagedDependent<>(HTTPRoute.class, "redirect-route", Names::redirectRoute,
        GatewayRoutes::redirect) : null;
    edgePolicy = this.edgePolicyApi ? new GenericManagedDependent(EnvoyGatewayPolicy.GROUP,
        EnvoyGatewayPolicy.VERSION, EnvoyGatewayPolicy.KIND, EnvoyGatewayPolicy.PLURAL, "edge-policy",
        Names::edgePolicy, EnvoyGatewayPolicy::desired, EnvoyGatewayPolicy::matches) : null;
    purgeConfig = new ManagedDependent<>(ConfigMap.class, "purge-config", Names::purge, PurgeJob::config);
    var purgeToken = new GeneratedSecretDependent("purge-token", Names::purgeToken, PurgeJob::token);
    purgeCronJob = new ManagedDependent<>(CronJob.class, "purge-cronjob", Names::purge, PurgeJob::cronJob);
    Condition<?, MicroApp> purgeScheduled = (dr, app, ctx) -> ManagedDependent.plan(ctx).retention().scheduled();
    this.workflow = new WorkflowBuilder<MicroApp>()
        .addDependentResource(serviceAccount)
        .addDependentResource(sidecarConfig)
        .addDependentResource(sessionKeys)
        .addDependentResource(networkPolicy)
        .addDependentResourceAndConfigure(sealedSecret)
        .withReconcilePrecondition((dr, app, ctx) -> ManagedDependent.plan(ctx).sealed().any())
        // Not dependsOn the sealed Secret: an unmet precondition would delete the Deployment too.
        .addDependentResourceAndConfigure(deployment).dependsOn(serviceAccount, sidecarConfig, sessionKeys)
        .addDependentResourceAndConfigure(service).dependsOn(deployment)
        // Checklist 8: the purge and what it needs exist only while a purge is scheduled.
        .addDependentResourceAndConfigure(purgeConfig).withReconcilePrecondition(purgeScheduled)
        .addDependentResourceAndConfigure(purgeToken)
        .withReconcilePrecondition((dr, app, ctx) -> ManagedDependent.plan(ctx).retention().usesToken())
        .addDependentResourceAndConfigure(purgeCronJob).dependsOn(serviceAccount, purgeConfig)
        .withReconcilePrecondition(purgeScheduled)
        .withThrowExceptionFurther(false)
        .build();
    // No Ingress unless sign-in and TLS can be set up and every other child is in place: never a
    // half-secured app on the internet, nor one exposed without its purge. Otherwise it is deleted.
    // One entry point per app, as its policy chooses: the Ingress, or the two routes on the Gateway.
    // Each alone enforces TLS, so a switch between them never exposes the app without it.
    var exposing = new WorkflowBuilder<MicroApp>()
        .addDependentResourceAndConfigure(ingress)
        .withReconcilePrecondition((dr, app, ctx) -> expose(ctx) && !gatewayMode(ctx));
    if (gatewayApi) {
      exposing.addDependentResourceAndConfigure(httpsRoute)
          .withReconcilePrecondition((dr, app, ctx) -> expose(ctx) && gatewayMode(ctx))
          .addDependentResourceAndConfigure(redirectRoute)
          .withReconcilePrecondition((dr, app, ctx) -> expose(ctx) && gatewayMode(ctx));
    }
    if (this.edgePolicyApi) {
      // Registered whenever the CRD is served, so a policy left from before goes when the adapter is off.
      exposing.addDependentResourceAndConfigure(edgePolicy).dependsOn(httpsRoute)
          .withReconcilePrecondition((dr, app, ctx) -> expose(ctx) && gatewayMode(ctx)
              && ManagedDependent.plan(ctx).config().gatewayEdgeLimits() == EdgeLimits.ENVOY_GATEWAY);
    }
    this.exposure = exposing.withThrowExceptionFurther(false).build();
  }

  /** Set by converge(): the app may be exposed and every other child is in place. */
  private static boolean expose(Context<MicroApp> ctx) {
    return ctx.managedWorkflowAndDependentResourceContext().get(EXPOSE, Boolean.class).orElse(false);
  }

  private static boolean gatewayMode(Context<MicroApp> ctx) {
    return ManagedDependent.plan(ctx).config().exposure().gatewayMode();
  }

  /** The sidecar configuration written once this reconcile (converge), for its ConfigMap and the pods' hash. */
  private static String sidecarConfig(Context<MicroApp> context) {
    return context.managedWorkflowAndDependentResourceContext().getMandatory(SIDECAR_CONFIG, String.class);
  }

  @Override
  public List<EventSource<?, MicroApp>> prepareEventSources(EventSourceContext<MicroApp> context) {
    List<EventSource<?, MicroApp>> sources = new ArrayList<>(EventSourceUtils.eventSourcesFromWorkflow(context, workflow));
    sources.addAll(EventSourceUtils.eventSourcesFromWorkflow(context, exposure));
    // Purge Jobs belong to the CronJob, not the app: map them back through their label.
    sources.add(new InformerEventSource<>(InformerEventSourceConfiguration.from(Job.class, MicroApp.class)
        .withName("purge-jobs")
        .withLabelSelector(Names.MANAGED_SELECTOR + "," + Names.PURGE_LABEL)
        .withSecondaryToPrimaryMapper(job -> Set.of(new ResourceID(
            job.getMetadata().getLabels().get(Names.PURGE_LABEL), job.getMetadata().getNamespace())))
        .build(), context));
    // The purge pods' termination messages carry what a run deleted (the runner has no API token).
    sources.add(new InformerEventSource<>(InformerEventSourceConfiguration.from(Pod.class, MicroApp.class)
        .withName("purge-pods")
        .withLabelSelector(Names.MANAGED_SELECTOR + "," + Names.PURGE_LABEL)
        .withSecondaryToPrimaryMapper(pod -> Set.of(new ResourceID(
            pod.getMetadata().getLabels().get(Names.PURGE_LABEL), pod.getMetadata().getNamespace())))
        .build(), context));
    if (gatewayApi) {
      // A Gateway that appears, goes or changes its listeners re-decides every app attached to it.
      gateways = new InformerEventSource<>(InformerEventSourceConfiguration.from(Gateway.class, MicroApp.class)
          .withName("gateways")
          // The platform's Gateway lives outside the app namespaces: watched cluster-wide even when
          // the operator watches a list of namespaces (RBAC: the read-only -policies ClusterRole).
          .withWatchAllNamespaces()
          .withSecondaryToPrimaryMapper(this::appsOn)
          .build(), context);
      sources.add(gateways);
    }
    sources.add(sealingKeys);
    sources.add(policyChanges);
    sources.add(reports.bind(context));
    apps = context.getPrimaryCache();
    return sources;
  }

  /** The apps whose policy attaches them to this Gateway. */
  private Set<ResourceID> appsOn(Gateway gateway) {
    var cache = apps;
    if (cache == null) {
      return Set.of();
    }
    return cache.list().filter(a -> {
      var e = policies.apply(a.getMetadata().getNamespace()).exposure();
      return e.gatewayMode() && e.gateway().name().equals(gateway.getMetadata().getName())
          && e.gateway().namespace().equals(gateway.getMetadata().getNamespace());
    }).map(ResourceID::fromResource).collect(Collectors.toSet());
  }

  /**
   * Gateway mode: the problem that keeps the app off the Gateway (none, missing, no HTTPS listener,
   * a hostname that does not cover the app's), read from the informer's cache.
   */
  private Optional<Problem> gatewayProblem(AppPlan plan) {
    if (!gatewayApi) {
      return Optional.of(new Problem(Problem.Area.TLS, "GatewayApiMissing", "spec.host is set and "
          + plan.config().source() + " exposes apps through " + plan.config().exposure().gateway().describe()
          + ", but the cluster did not serve the Gateway API (gateway.networking.k8s.io/v1 HTTPRoute, Gateway) when"
          + " the operator started; ask your platform team to install its CRDs and restart the operator", true));
    }
    return GatewayListeners.problem(plan, observedGateway(plan));
  }

  private Gateway observedGateway(AppPlan plan) {
    var source = gateways;
    var gw = plan.config().exposure().gateway();
    return source == null || gw == null ? null : source.get(new ResourceID(gw.name(), gw.namespace())).orElse(null);
  }

  /**
   * The cluster's sealing keys were lost, restored or rotated (SealingKeyStore#watch): every app with
   * sealed values is reconciled now, not at its next resync, so SecretsSealed follows the keys.
   */
  public void sealingKeysChanged() {
    var cache = apps;
    if (cache != null) {
      cache.list().filter(a -> AppPlan.SealedNames.of(a).any())
          .forEach(a -> sealingKeys.propagateEvent(ResourceID.fromResource(a)));
    }
  }

  /** The policy of these namespaces changed: their apps (and only theirs) are reconciled now. */
  /** The scanner's reports the vulnerability gate reads (runtime/ScanReports in the cluster). */
  public void scanReports(ScanSource source) {
    this.scanReports = source;
  }

  /** Re-evaluates every app (the cluster began serving scan reports). */
  public void reconcileAll() {
    var cache = apps;
    if (cache != null) {
      cache.list().forEach(a -> policyChanges.propagateEvent(ResourceID.fromResource(a)));
    }
  }

  /** Re-evaluates the apps of these namespaces (their policy or their scan reports changed). */
  public void policyChanged(Set<String> namespaces) {
    var cache = apps;
    if (cache != null) {
      cache.list().filter(a -> namespaces.contains(a.getMetadata().getNamespace()))
          .forEach(a -> policyChanges.propagateEvent(ResourceID.fromResource(a)));
    }
  }

  /**
   * Keeps every app's session keyset and salt wrapped under this KMS key (--kms-session-key-uri):
   * new apps get them wrapped, existing ones are wrapped at their next reconcile. Call before the
   * operator starts.
   */
  public MicroAppReconciler wrapSessionKeysWith(io.safedefaults.microapp.auth.SessionKeyWrapping wrapping) {
    this.sessionKeyWrapping = wrapping;
    return this;
  }

  /**
   * Writes the session keyset only when a rotation or a removal is due (SessionKeyRotation), with
   * the Secret's resourceVersion, so two operator replicas never both rotate.
   */
  private void rotateSessionKeys(MicroApp app, Context<MicroApp> context) {
    sessionKeys.getSecondaryResource(app, context)
        .flatMap(s -> SessionKeyRotation.next(s, clock.instant(), sessionKeyRotation, sessionKeyWrapping,
            app.getMetadata().getNamespace(), app.getMetadata().getName()))
        .ifPresent(next -> {
          try {
            context.getClient().resource(next.secret()).update();
            audit.record(next.action(), app.getMetadata().getNamespace(), app.getMetadata().getName(),
                Map.of("secret", next.secret().getMetadata().getName()));
          } catch (KubernetesClientException e) {
            // 409: someone else wrote it first; the informer brings the new version and we look again
            if (e.getCode() != 409) {
              metrics.reconcileError("SessionKeyRotationFailed");
            }
          }
        });
  }

  /**
   * Limits this instance to the namespaces its shard holds (NamespaceShard): an app elsewhere is
   * left alone, not a single write, even while its informer still lists it after a handover.
   */
  public void writeOnlyIn(java.util.function.Predicate<String> namespaces) {
    this.writesIn = Objects.requireNonNull(namespaces);
  }

  /**
   * Another shard reconciles this namespace now (NamespaceShard, once the last reconcile here has
   * finished): what this process remembers of its apps is dropped, so if the namespace comes back
   * everything is read again rather than trusted from before (host claims above all: the other
   * shard may have released a host that a third app then claimed).
   */
  public void handedOver(String namespace) {
    String prefix = namespace + "/";
    announced.keySet().removeIf(k -> k.startsWith(prefix));
    failures.keySet().removeIf(k -> k.startsWith(prefix));
    applyErrors.keySet().removeIf(k -> k.startsWith(prefix));
    hostClaims.forgetNamespace(namespace);
  }

  /**
   * Nothing thrown while converging an app escapes: it becomes Ready=False (ReconcileFailed) with
   * a one-line reason, a retry with backoff (5 s doubling to 5 min), and one stack trace per app
   * and cause in the log rather than one per attempt.
   */
  @Override
  public UpdateControl<MicroApp> reconcile(MicroApp app, Context<MicroApp> context) {
    String key = app.getMetadata().getNamespace() + "/" + app.getMetadata().getName();
    if (!writesIn.test(app.getMetadata().getNamespace())) {
      return UpdateControl.noUpdate(); // another shard's, or being handed over to one
    }
    try {
      UpdateControl<MicroApp> control = converge(app, key, context);
      failures.remove(key);
      return control;
    } catch (RuntimeException e) {
      return failed(app, key, e, new EventRecorder(context.getClient(), clock));
    }
  }

  /**
   * Reached only by JOSDK's own write after reconcile, the status patch (everything inside reconcile
   * is caught there). An app deleted while it was being reconciled answers it with 404: there is
   * nothing left to report on, so no retry and no stack trace. Anything else takes JOSDK's retry.
   */
  @Override
  public ErrorStatusUpdateControl<MicroApp> updateErrorStatus(MicroApp app, Context<MicroApp> context, Exception e) {
    if (causes(e).anyMatch(t -> t instanceof KubernetesClientException k && k.getCode() == 404)) {
      LOG.debug("{}/{} was deleted while it was reconciled", app.getMetadata().getNamespace(), app.getMetadata().getName());
      return ErrorStatusUpdateControl.<MicroApp>noStatusUpdate().withNoRetry();
    }
    return ErrorStatusUpdateControl.defaultErrorProcessing();
  }

  private UpdateControl<MicroApp> failed(MicroApp app, String key, RuntimeException e, EventRecorder events) {
    StackTraceElement at = e.getStackTrace().length > 0 ? e.getStackTrace()[0] : null;
    String cause = e.getClass().getName() + (at == null ? "" : " at " + at);
    Failure previous = failures.get(key);
    int attempt = previous == null ? 1 : previous.attempts() + 1;
    failures.put(key, new Failure(cause, attempt));
    if (previous == null || !previous.cause().equals(cause)) {
      LOG.error("reconciling {} failed; retrying with backoff (this cause is logged once per app)", key, e);
    } else {
      LOG.debug("reconciling {} failed again ({}), attempt {}", key, cause, attempt);
    }
    metrics.reconcileError("ReconcileFailed");
    Duration backoff = Duration.ofSeconds(Math.min(300, 5L << Math.min(attempt - 1, 6)));
    String message = "the operator could not process this app (" + e.getClass().getSimpleName()
        + (at == null ? "" : " in " + at.getClassName().substring(at.getClassName().lastIndexOf('.') + 1) + "."
            + at.getMethodName()) + "); it retries in " + backoff.toSeconds() + " s. Please report it with the"
        + " operator's log";
    MicroAppStatus status = Conditions.failed(app, message, clock.instant());
    boolean already = Conditions.find(app.getStatus(), Conditions.READY)
        .map(c -> "ReconcileFailed".equals(c.getReason())).orElse(false);
    if (!already) {
      events.warning(app, "ReconcileFailed", message);
    }
    if (Objects.equals(app.getStatus(), status)) {
      return UpdateControl.<MicroApp>noUpdate().rescheduleAfter(backoff);
    }
    return UpdateControl.patchStatus(statusPatch(app, status)).rescheduleAfter(backoff);
  }

  private UpdateControl<MicroApp> converge(MicroApp app, String key, Context<MicroApp> context) {
    AppPlan plan = AppPlan.resolve(app, policies.apply(app.getMetadata().getNamespace()), clock.instant());
    if (!plan.fatal() && plan.host() != null && plan.problems(Problem.Area.HOST).stream().noneMatch(Problem::blocksExposure)) {
      plan = hostClaims.claim(context.getClient(), app, plan.host()).map(plan::with).orElse(plan);
    }
    if (plan.exposed() && plan.config().exposure().gatewayMode()) {
      plan = gatewayProblem(plan).map(plan::with).orElse(plan);
    }
    // An approval a policy requires, of exactly this spec generation (annotations, checked at admission).
    Approval approval = ApprovalGate.judge(app, plan);
    plan = ApprovalGate.problem(plan, approval).map(plan::with).orElse(plan);
    // The scanner's verdict (read from an informer's cache, no API call); a required scan that has not
    // passed keeps the app unexposed (enforce) or is reported (audit).
    String running = deployment.getSecondaryResource(app, context)
        .flatMap(d -> d.getSpec().getTemplate().getSpec().getContainers().stream()
            .filter(c -> Names.APP_CONTAINER.equals(c.getName())).findFirst())
        .map(io.fabric8.kubernetes.api.model.Container::getImage).orElse(null);
    ImageScan scan = ImageScanGate.judge(plan, scanReports.reports(app.getMetadata().getNamespace()), running);
    plan = ImageScanGate.problem(plan, scan).map(plan::with).orElse(plan);
    plan = ImageScanGate.pinned(plan, scan);
    // Everything the dependents and the status share is computed here, once a reconcile.
    Unsealer.Unsealed unsealed = Unsealer.open(app, decryptor.get());
    String sidecarJson = SidecarConfig.json(plan);
    var shared = context.managedWorkflowAndDependentResourceContext();
    shared.put(ManagedDependent.PLAN, plan);
    shared.put(UnsealedSecretDependent.OPENED, unsealed);
    shared.put(SIDECAR_CONFIG, sidecarJson);
    Optional<ApplyError> error = Optional.empty();
    if (!plan.fatal()) {
      WorkflowReconcileResult result = workflow.reconcile(app, context);
      context.managedWorkflowAndDependentResourceContext()
          .put(EXPOSE, plan.exposed() && result.getErroredDependents().isEmpty());
      @SuppressWarnings("rawtypes")
      Map<DependentResource, Exception> errors = new java.util.LinkedHashMap<>(result.getErroredDependents());
      errors.putAll(exposure.reconcile(app, context).getErroredDependents());
      if (errors.isEmpty()) {
        // The Ingress now serves only the host the app holds (or nothing): other claims can go.
        hostClaims.release(context.getClient(), app, plan.exposed() ? plan.host() : heldHost(plan));
      }
      if (namespaceTerminating(errors)) {
        // The namespace controller is removing the namespace, this app with it: the API refuses new
        // children there, and retrying, warning or counting it as a failure helps nobody.
        LOG.debug("{}/{}: namespace is terminating, not re-creating children",
            app.getMetadata().getNamespace(), app.getMetadata().getName());
        return UpdateControl.noUpdate();
      }
      error = describe(errors);
      // Logged when it first happens or changes, not on every retry; status carries it meanwhile.
      ApplyError last = error.isPresent() ? applyErrors.put(key, error.get()) : applyErrors.remove(key);
      error.filter(e -> "ApplyFailed".equals(e.reason()) && !e.equals(last))
          .ifPresent(e -> LOG.warn("{}: {}", key, e.message()));
      rotateSessionKeys(app, context);
    } else {
      // Nothing is written for an app that cannot be planned, and an Ingress left from before goes.
      if (exposure.reconcile(app, context).getErroredDependents().isEmpty()) {
        hostClaims.release(context.getClient(), app, null);
      }
    }
    // Each dependent picks its own child by name: two Secrets (session keys, sealed values) share a type.
    Observed observed = new Observed(
        serviceAccount.getSecondaryResource(app, context).orElse(null),
        sidecarConfig.getSecondaryResource(app, context).orElse(null),
        deployment.getSecondaryResource(app, context).orElse(null),
        service.getSecondaryResource(app, context).orElse(null),
        ingress.getSecondaryResource(app, context).orElse(null),
        networkPolicy.getSecondaryResource(app, context).orElse(null),
        sealedSecret.getSecondaryResource(app, context).orElse(null),
        purgeCronJob.getSecondaryResource(app, context).orElse(null),
        context.getSecondaryResources(Job.class).stream()
            .filter(j -> app.getMetadata().getName().equals(j.getMetadata().getLabels().get(Names.PURGE_LABEL)))
            .max(Comparator.comparing(j -> j.getMetadata().getCreationTimestamp()))
            .orElse(null),
        List.copyOf(context.getSecondaryResources(Pod.class)),
        scan);
    if (gatewayApi) {
      observed = observed.withGateway(httpsRoute.getSecondaryResource(app, context).orElse(null),
          redirectRoute.getSecondaryResource(app, context).orElse(null), observedGateway(plan))
          .withEdgePolicy(edgePolicyApi ? edgePolicy.getSecondaryResource(app, context).orElse(null) : null,
              edgePolicyApi);
    }
    List<CheckResult> checks = Checklist.checks(plan, sidecarJson, observed, unsealed);
    MicroAppStatus status = Conditions.status(app, plan, observed, checks, unsealed.statuses(), error, clock.instant());
    reports.publish(app, checks, plan, clock.instant());

    boolean ready = Conditions.find(status, Conditions.READY).map(c -> "True".equals(c.getStatus())).orElse(false);
    metrics.observe(app.getMetadata().getNamespace(), app.getMetadata().getName(), status, ready);
    var cache = context.getPrimaryCache();
    Supplier<Set<String>> live = () -> cache.list()
        .map(a -> a.getMetadata().getNamespace() + "/" + a.getMetadata().getName())
        .collect(Collectors.toSet());
    metrics.liveApps(live);
    forgetDeletedApps(cache, live);
    recordApproval(app, key, approval, plan, context);
    error.ifPresent(e -> metrics.reconcileError(e.reason()));

    // Looked at again: after a failed apply, while another app holds the host (it may go at any
    // time; its deletion is no event here), and when an exemption in use expires.
    Optional<Duration> again = error.isPresent() ? Optional.of(Duration.ofSeconds(30)) : Optional.empty();
    for (Problem p : plan.problems(Problem.Area.HOST)) {
      Duration d = "HostSettling".equals(p.reason()) ? Duration.ofSeconds(2)
          : "HostTaken".equals(p.reason()) ? Duration.ofSeconds(10) : null;
      if (d != null && again.map(a -> d.compareTo(a) < 0).orElse(true)) {
        again = Optional.of(d);
      }
    }
    Optional<Duration> expiry = plan.exemptionExpiry(clock.instant());
    if (expiry.isPresent() && again.map(a -> expiry.get().compareTo(a) < 0).orElse(true)) {
      again = expiry;
    }
    UpdateControl<MicroApp> control;
    if (Objects.equals(app.getStatus(), status)) {
      control = UpdateControl.noUpdate();
    } else {
      announce(app, plan, status, new EventRecorder(context.getClient(), clock));
      control = UpdateControl.patchStatus(statusPatch(app, status));
    }
    return again.isPresent() ? control.rescheduleAfter(again.get()) : control;
  }

  /**
   * Drops what the maps keyed by app hold for apps that are gone. That walks every app, so it runs
   * at most every {@link #FORGET_EVERY}, not on each reconcile: on each reconcile a resync of N apps
   * would cost N² (at 1,000 apps, two million set operations a resync). Until then a deleted app's
   * entries only take memory; nothing reads them (metrics count live apps at the scrape).
   */
  private void forgetDeletedApps(io.javaoperatorsdk.operator.api.reconciler.IndexedResourceCache<MicroApp> cache,
      Supplier<Set<String>> live) {
    long now = System.nanoTime();
    long last = lastForgotten.get();
    if (now - last < FORGET_EVERY.toNanos() || !lastForgotten.compareAndSet(last, now)) {
      return;
    }
    Set<String> existing = live.get();
    Set<String> uids = cache.list().map(a -> a.getMetadata().getUid()).collect(Collectors.toSet());
    metrics.retain(existing);
    announced.keySet().retainAll(uids);
    failures.keySet().retainAll(existing);
    applyErrors.keySet().retainAll(existing);
    approvalsRecorded.keySet().retainAll(existing);
    hostClaims.retain(uids);
  }

  /** Full comparisons of existing children with their desired state, over every dependent (see ManagedDependent#match). */
  long fullChildMatches() {
    return java.util.stream.Stream.of(serviceAccount, sidecarConfig, deployment, service, networkPolicy, ingress,
        sealedSecret, purgeCronJob, purgeConfig, httpsRoute, redirectRoute).filter(Objects::nonNull)
        .mapToLong(ManagedDependent::fullMatches).sum();
  }

  /**
   * An approval of the current generation, recorded once (after a restart of the operator, once
   * more): an audit record with the approver's pseudonymous id, and a Normal Event without the name.
   */
  private void recordApproval(MicroApp app, String key, Approval approval, AppPlan plan, Context<MicroApp> context) {
    if (approval.state() != Approval.State.APPROVED) {
      approvalsRecorded.remove(key);
      return;
    }
    if (Objects.equals(approvalsRecorded.put(key, approval.generation()), approval.generation())) {
      return;
    }
    audit.record("approval.granted", app.getMetadata().getNamespace(), app.getMetadata().getName(), Map.of(
        "generation", approval.generation(), "approver", ApprovalGate.approverId(approval.approver()),
        "approverGroups", plan.config().approval().approverGroups()));
    new EventRecorder(context.getClient(), clock).normal(app, "ApprovalGranted", "generation "
        + approval.generation() + " approved by a member of " + String.join(", ",
        plan.config().approval().approverGroups()) + " (" + plan.config().source() + ")");
  }

  /** The host the app keeps its claim on although it is not exposed (null: none). */
  private static String heldHost(AppPlan plan) {
    boolean outside = plan.problems(Problem.Area.HOST).stream()
        .anyMatch(p -> "HostNotAllowed".equals(p.reason()) && p.blocksExposure());
    return outside ? null : plan.host();
  }

  /** Only the app's name and the status: a server-side apply of the status owns nothing else. */
  private static MicroApp statusPatch(MicroApp app, MicroAppStatus status) {
    MicroApp patch = new MicroApp();
    patch.setMetadata(new ObjectMetaBuilder().withName(app.getMetadata().getName())
        .withNamespace(app.getMetadata().getNamespace()).build());
    patch.setStatus(status);
    return patch;
  }

  /** Who else hears of relaxed defaults, besides the Event and the audit record (the policies' webhooks). */
  public void notifyOverridesTo(io.safedefaults.microapp.audit.OverrideNotifications notifications) {
    this.notifications = notifications;
  }

  /** Events and audit records for conditions whose status changed. */
  private void announce(MicroApp app, AppPlan plan, MicroAppStatus next, EventRecorder events) {
    String ns = app.getMetadata().getNamespace();
    String name = app.getMetadata().getName();
    Map<String, String> already = announced.getOrDefault(app.getMetadata().getUid(), Map.of());
    Map<String, String> now = new java.util.HashMap<>();
    // Ready repeats the first failing area's reason and message: one failure is one Warning.
    Set<String> warned = new java.util.HashSet<>();
    for (StatusCondition c : next.getConditions()) {
      // DefaultsRelaxed names what is relaxed: relaxing one more default is news (Event, audit record,
      // notification) although the condition stays True with the same reason
      boolean relaxation = Conditions.DEFAULTS_RELAXED.equals(c.getType());
      String state = c.getStatus() + "/" + c.getReason() + (relaxation ? "/" + c.getMessage() : "");
      now.put(c.getType(), state);
      Optional<StatusCondition> before = Conditions.find(app.getStatus(), c.getType());
      if (before.isPresent() && before.get().getStatus().equals(c.getStatus())
          && Objects.equals(before.get().getReason(), c.getReason())
          && (!relaxation || Objects.equals(before.get().getMessage(), c.getMessage()))) {
        continue;
      }
      if (state.equals(already.get(c.getType()))) {
        continue;
      }
      boolean isTrue = "True".equals(c.getStatus());
      if (Conditions.DEFAULTS_RELAXED.equals(c.getType())) {
        if (isTrue) {
          events.warning(app, "DefaultsRelaxed", c.getMessage());
          audit.record("override.applied", ns, name, Map.of("settings",
              plan.relaxed().keySet().stream().map(s -> s.wireName()).sorted().toList()));
          notifications.relaxed(ns, name, plan.relaxed());
        } else if (before.isPresent()) {
          events.normal(app, "DefaultsRestored", c.getMessage());
          audit.record("override.removed", ns, name, Map.of());
        }
      } else if (isTrue && Conditions.READY.equals(c.getType())) {
        events.normal(app, "Ready", c.getMessage());
      } else if (isTrue && before.isPresent() && "False".equals(before.get().getStatus())
          && !TRANSIENT.contains(before.get().getReason())) {
        // the recovery of a failure that was announced with a Warning (e.g. the sealing keys restored)
        events.normal(app, c.getReason(), c.getMessage());
      } else if (!isTrue && !TRANSIENT.contains(c.getReason()) && warned.add(c.getReason() + "\n" + c.getMessage())) {
        events.warning(app, c.getReason(), c.getMessage());
      }
    }
    if (!now.equals(already)) {
      for (Problem p : plan.problems(Problem.Area.OVERRIDES)) {
        audit.record("override.refused", ns, name, Map.of("reason", p.reason(), "message", p.message()));
      }
    }
    announced.put(app.getMetadata().getUid(), now);
    LOG.info("status of {}/{} changed: {}", ns, name, next.getConditions().stream()
        .map(c -> c.getType() + "=" + c.getStatus()).collect(Collectors.joining(" ")));
  }

  /** True when there are errors and every one is the API refusing new content in a terminating namespace. */
  @SuppressWarnings("rawtypes")
  static boolean namespaceTerminating(Map<DependentResource, Exception> errors) {
    return !errors.isEmpty() && errors.values().stream().allMatch(MicroAppReconciler::namespaceTerminating);
  }

  static boolean namespaceTerminating(Throwable e) {
    return causes(e).anyMatch(t -> t instanceof KubernetesClientException k && k.getStatus() != null
        && k.getStatus().getDetails() != null && k.getStatus().getDetails().getCauses() != null
        && k.getStatus().getDetails().getCauses().stream().anyMatch(c -> "NamespaceTerminating".equals(c.getReason())));
  }

  /** {@code e} and its causes, outermost first. */
  private static java.util.stream.Stream<Throwable> causes(Throwable e) {
    return java.util.stream.Stream.iterate(e, java.util.Objects::nonNull, Throwable::getCause);
  }

  @SuppressWarnings("rawtypes")
  private static Optional<ApplyError> describe(Map<DependentResource, Exception> errors) {
    if (errors.isEmpty()) {
      return Optional.empty();
    }
    // The same failure must read the same on every reconcile, or status would be rewritten each time.
    var first = errors.entrySet().stream().min(Comparator.comparing(en -> en.getKey().name())).orElseThrow();
    // the API's answer or our refusal, wherever in the chain; else the innermost cause
    Throwable e = causes(first.getValue())
        .filter(t -> t instanceof KubernetesClientException || t instanceof ChildOwnership.NameTaken)
        .findFirst().orElseGet(() -> causes(first.getValue()).reduce((outer, inner) -> inner).orElseThrow());
    if (e instanceof ChildOwnership.NameTaken taken) {
      return Optional.of(new ApplyError("NameTaken", taken.getMessage()));
    }
    String why = e instanceof KubernetesClientException k && k.getStatus() != null && k.getStatus().getMessage() != null
        ? "HTTP " + k.getCode() + ": " + k.getStatus().getMessage()
        : e.getClass().getSimpleName();
    return Optional.of(new ApplyError("ApplyFailed", "could not apply the " + first.getKey().name() + ": " + why));
  }
}
