package io.safedefaults.microapp.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.safedefaults.microapp.MicroAppReconciler;
import io.safedefaults.microapp.audit.OperatorMetrics;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.runtime.HealthServer;
import io.safedefaults.microapp.runtime.LeaderLease;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Runs the controller until SIGTERM, with health, readiness and metrics endpoints. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Reconcile MicroApps using the current kubeconfig or the in-cluster service account.")
public final class RunCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

  @Mixin PolicyOptions policy;
  @Mixin KmsOptions kms;
  @Mixin SessionKmsOptions sessionKms;

  @Option(names = "--namespaces", split = ",", defaultValue = "${env:MICROAPP_WATCH_NAMESPACES}",
      description = "Namespaces to watch; all when empty (env MICROAPP_WATCH_NAMESPACES).")
  List<String> namespaces;

  @Option(names = "--http-address", defaultValue = "${env:MICROAPP_HTTP_ADDRESS:-0.0.0.0}",
      description = "Address of /healthz, /readyz and /metrics.")
  String httpAddress;

  @Option(names = "--http-port", defaultValue = "${env:MICROAPP_HTTP_PORT:-8080}",
      description = "Port of /healthz, /readyz and /metrics.")
  int httpPort;

  @Option(names = "--resync-seconds", defaultValue = "${env:MICROAPP_RESYNC_SECONDS:-600}",
      description = "Re-check every app at least this often, repairing drift missed by watches.")
  long resyncSeconds;

  @Option(names = "--no-leader-election",
      description = "Run without electing a leader through a Lease (one replica only; env MICROAPP_LEADER_ELECTION=false).")
  boolean noLeaderElection;

  @Option(names = "--leader-election-namespace", defaultValue = "${env:POD_NAMESPACE}",
      description = "Namespace of the Lease; defaults to the pod's namespace (env POD_NAMESPACE).")
  String leaseNamespace;

  /**
   * How often a standby looks at the Lease, and the leader renews it. Half the Kubernetes default
   * (2 s): a leader that gives the Lease up on SIGTERM is replaced within about a second and a
   * half, for one more small write a second.
   */
  static final Duration RETRY_PERIOD = Duration.ofSeconds(1);

  @Option(names = "--lease-name", defaultValue = "${env:MICROAPP_LEASE_NAME}",
      description = "Name of the leader-election Lease; microapp-operator, or microapp-operator-<shard> with "
          + "--shard-name (env MICROAPP_LEASE_NAME).")
  String leaseName;

  @Option(names = "--shard-name", defaultValue = "${env:MICROAPP_SHARD_NAME}",
      description = "Run as one of several operators that split the cluster by namespace: this one's name "
          + "(its Lease, logs and metrics carry it). Needs --shard-selector (env MICROAPP_SHARD_NAME).")
  String shardName;

  @Option(names = "--shard-selector", defaultValue = "${env:MICROAPP_SHARD_SELECTOR}",
      description = "Label selector on namespaces: this shard reconciles MicroApps only in the namespaces it "
          + "matches, taking each over from the shard that held it once that one has handed it over "
          + "(README, \"Running more than one operator (shards)\"; env MICROAPP_SHARD_SELECTOR).")
  String shardSelector;

  @Option(names = "--keys-namespace", defaultValue = "${env:MICROAPP_KEYS_NAMESPACE}",
      description = "Namespace of the sealing keys Secret and public-key ConfigMap; defaults to POD_NAMESPACE "
          + "(env MICROAPP_KEYS_NAMESPACE).")
  String keysNamespace;

  @Option(names = "--key-rotation-days", defaultValue = "${env:MICROAPP_KEY_ROTATION_DAYS:-30}",
      description = "Days until a new primary sealing key and a new primary session key per app; old keys are kept "
          + "while anything may still use them (env MICROAPP_KEY_ROTATION_DAYS).")
  long keyRotationDays;

  @Option(names = "--notify-webhook-key", defaultValue = "${env:MICROAPP_NOTIFY_WEBHOOK_KEY}",
      description = "Key of the Secret microapp-notify-webhooks (in the keys namespace) holding the webhook URL told"
          + " whenever any app relaxes a default, besides the targets of the MicroAppPolicies (spec.notify).")
  String notifyWebhookKey;

  @Option(names = "--allow-new-sealing-keys", defaultValue = "${env:MICROAPP_ALLOW_NEW_SEALING_KEYS:-false}",
      description = "Create a new sealing keyset when the keys Secret is missing although MicroApps have sealed values "
          + "only the lost keys open: every such value must then be sealed again. Without it the operator waits for "
          + "the backup to be restored. Use for one start, then remove it (env MICROAPP_ALLOW_NEW_SEALING_KEYS).")
  boolean allowNewSealingKeys;

  private String keysNamespace() {
    String ns = keysNamespace != null && !keysNamespace.isBlank() ? keysNamespace : System.getenv("POD_NAMESPACE");
    if (ns == null || ns.isBlank()) {
      throw new IllegalArgumentException("--keys-namespace (or POD_NAMESPACE) is needed: where the sealing keys live");
    }
    return ns;
  }

  private final AtomicBoolean stopping = new AtomicBoolean();

  private static boolean present(String s) {
    return s != null && !s.isBlank();
  }


  /**
   * Whether the cluster serves HTTPRoutes and Gateways (gateway.networking.k8s.io/v1): asked once at
   * start, because routes and Gateways are watched only when served. Apps in gateway mode on a
   * cluster without them report GatewayApiMissing; installing the CRDs needs a restart.
   */
  public static boolean gatewayApi(io.fabric8.kubernetes.client.KubernetesClient client) {
    boolean served = client.supports(io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute.class)
        && client.supports(io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway.class);
    LOG.info(served ? "the Gateway API is served: apps in gateway mode get HTTPRoutes"
        : "the Gateway API (gateway.networking.k8s.io/v1) is not served: apps in gateway mode are not exposed");
    return served;
  }

  /**
   * Whether the cluster serves Envoy Gateway's BackendTrafficPolicy (gateway.envoyproxy.io/v1alpha1):
   * asked once at start, like the Gateway API, because the policies are watched only when served. With
   * --gateway-edge-limits envoy-gateway and no such API, apps report RateLimited=False
   * (EdgePolicyApiMissing); installing Envoy Gateway's CRDs needs a restart.
   */
  public static boolean edgePolicyApi(io.fabric8.kubernetes.client.KubernetesClient client) {
    var kind = io.safedefaults.microapp.ratelimit.EnvoyGatewayPolicy.KIND;
    io.fabric8.kubernetes.api.model.APIResourceList list;
    try {
      list = client.getApiResources(io.safedefaults.microapp.ratelimit.EnvoyGatewayPolicy.API_VERSION);
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
      list = null;
    }
    boolean served = list != null && list.getResources().stream().anyMatch(r -> kind.equals(r.getKind()));
    LOG.info(served ? "Envoy Gateway's " + kind + " is served: --gateway-edge-limits envoy-gateway can write it"
        : "Envoy Gateway's " + kind + " (gateway.envoyproxy.io/v1alpha1) is not served: no edge limits through it");
    return served;
  }

  /**
   * What /readyz reports. Missing sealing keys make the operator not ready: it cannot do its part
   * of checklist 6 for any app until the backup is restored, and not-ready is what a platform team
   * already watches (kubectl get pods, rollout status, helm --wait, the usual pod-not-ready alert);
   * Prometheus still scrapes a pod that is not ready, so the metrics stay visible, and the operator
   * serves no other traffic that readiness would divert. Liveness stays up: a restart cannot bring
   * the Secret back, and the other defaults keep being enforced meanwhile.
   */
  public static List<String> unready(Operator operator, SealingKeyStore keys) {
    List<String> why = new java.util.ArrayList<>();
    if (!operator.getRuntimeInfo().isStarted() || !operator.getRuntimeInfo().allEventSourcesAreHealthy()) {
      why.add("the controller has not started or an informer is unhealthy");
    }
    keys.problem().ifPresent(why::add);
    return why;
  }

  @Override
  public Integer call() throws Exception {
    // the one clock of the process: key rotation, policy status, Events and the reconciler all read it
    Clock clock = Clock.systemUTC();
    kms.sharedWithSessionKey = true;
    OperatorConfig config = policy.toConfig().toBuilder().sessionKeyKms(sessionKms.sidecars(kms)).build();
    if (config.sessionKeyKms() != null) {
      LOG.info("app session keysets are kept wrapped under {}; sidecars {}", config.sessionKeyKms().uri(),
          config.sessionKeyKms().vault() != null ? "log in to Vault as role " + config.sessionKeyKms().vault().role()
              : "assume the IAM role " + config.sessionKeyKms().aws().roleArn());
    }
    if (config.oidcCaBundle() != null) {
      LOG.info("app sidecars trust their OIDC provider through the {} CA certificate(s) of --oidc-ca-file only",
          config.oidcCaBundle().split("-----BEGIN CERTIFICATE-----", -1).length - 1);
    }
    boolean leaderElection = !noLeaderElection
        && !"false".equalsIgnoreCase(System.getenv().getOrDefault("MICROAPP_LEADER_ELECTION", "true"));
    if (notifyWebhookKey != null && !notifyWebhookKey.isBlank() && !notifyWebhookKey.strip().matches("[-._a-zA-Z0-9]{1,253}")) {
      throw new IllegalArgumentException("--notify-webhook-key: '" + notifyWebhookKey.replaceAll("\\p{Cntrl}", "?")
          + "' is not a Secret key (letters, digits, '-', '_' and '.'), e.g. security-team");
    }
    if (keyRotationDays < 1) {
      throw new IllegalArgumentException("--key-rotation-days must be 1 or more");
    }
    if (resyncSeconds < 5) {
      throw new IllegalArgumentException("--resync-seconds must be 5 or more");
    }
    if (leaderElection && (leaseNamespace == null || leaseNamespace.isBlank())) {
      throw new IllegalArgumentException(
          "--leader-election-namespace (or POD_NAMESPACE) is needed for leader election; or pass --no-leader-election");
    }
    boolean sharded = present(shardName) || present(shardSelector);
    if (sharded && (!present(shardName) || !present(shardSelector))) {
      throw new IllegalArgumentException("--shard-name and --shard-selector go together: give both, or neither to "
          + "reconcile every namespace");
    }
    if (sharded && !leaderElection) {
      throw new IllegalArgumentException("--shard-name needs leader election: the other shards read this shard's "
          + "Lease to know whether it is alive before taking a namespace over; remove --no-leader-election");
    }
    if (sharded && namespaces != null && namespaces.stream().anyMatch(RunCommand::present)) {
      throw new IllegalArgumentException("--namespaces and --shard-selector exclude each other: a shard's namespaces "
          + "are the ones its selector matches");
    }
    if (sharded) {
      io.safedefaults.microapp.runtime.NamespaceShard.validName(shardName);
    }
    String lease = present(leaseName) ? leaseName.trim()
        : sharded ? "microapp-operator-" + shardName : "microapp-operator";
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    if (sharded) {
      registry.config().commonTags("shard", shardName);
    }
    // Managed fields compacted as they are read: see CompactManagedFields (most of the caches' heap).
    KubernetesClient client = new KubernetesClientBuilder()
        .withKubernetesSerialization(io.safedefaults.microapp.kube.CompactManagedFields.serialization()).build();
    io.safedefaults.microapp.runtime.NamespaceShard shard = sharded
        ? new io.safedefaults.microapp.runtime.NamespaceShard(client, shardName, shardSelector, keysNamespace(),
            leaseNamespace, lease, clock)
        : null;
    if (shard != null) {
      shard.checkSelector();
    }
    // The pod name as identity makes `kubectl get lease` say which replica leads.
    String identity = System.getenv().getOrDefault("POD_NAME", "").isBlank()
        ? "microapp-operator-" + java.util.UUID.randomUUID() : System.getenv("POD_NAME");
    io.javaoperatorsdk.operator.api.monitoring.Metrics josdkMetrics =
        MicrometerMetrics.newMicrometerMetricsBuilder(registry).notCollectingMetricsPerResource().build();
    java.util.concurrent.atomic.AtomicReference<io.javaoperatorsdk.operator.RegisteredController<?>> controller =
        new java.util.concurrent.atomic.AtomicReference<>();
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          .withMetrics(shard == null ? josdkMetrics : shard.counting(josdkMetrics))
          // closed by the shutdown hook, after the Lease is released with it
          .withCloseClientOnStop(false)
          .withStopOnInformerErrorDuringStartup(true);
      if (leaderElection) {
        // JOSDK's default exits from inside the leader-election callback, which deadlocks with our
        // SIGTERM shutdown hook. Losing the lease while running still ends the process, so the
        // pod restarts and rejoins the election; losing it because we are stopping does not.
        LeaderCallbacks callbacks = new LeaderCallbacks(() -> {
              LOG.info("leading as {}{}", identity, shard == null ? "" : " for shard " + shard.name());
              if (shard != null) {
                // only the leader claims namespaces; standbys hold nothing
                shard.startFollowing(controller.get());
              }
            },
            () -> {
              if (!stopping.get()) {
                LOG.error("lost the lease {} unexpectedly; exiting so the pod restarts", lease);
                Runtime.getRuntime().halt(1);
              }
            },
            leader -> LOG.info("leader is {}", leader));
        o.withLeaderElectionConfiguration(new LeaderElectionConfiguration(lease, leaseNamespace,
            LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE, LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
            RETRY_PERIOD, identity, callbacks, false));
      }
    });
    if (leaderElection) {
      LeaderLease.prepare(client, leaseNamespace, lease, LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE);
    }
    List<String> watched = namespaces == null ? List.of()
        : namespaces.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
    SealingKeyStore keys = kms.store(client, keysNamespace(), Duration.ofDays(keyRotationDays), clock);
    keys.ensure(watched, allowNewSealingKeys);
    ScheduledExecutorService keyRotation = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sealing-key-rotation");
      t.setDaemon(true);
      return t;
    });
    keyRotation.scheduleWithFixedDelay(() -> {
      try {
        keys.refreshAndRotateIfDue();
      } catch (RuntimeException e) {
        LOG.warn("sealing key refresh failed: {}", e.getMessage());
      }
    }, 5, 5, TimeUnit.MINUTES);
    OperatorMetrics metrics = new OperatorMetrics(registry);
    metrics.sealingKeysAvailable(keys::available);
    // Read before any app is planned: an app must never be planned against a partial policy view.
    io.safedefaults.microapp.runtime.PolicyWatch policies =
        new io.safedefaults.microapp.runtime.PolicyWatch(client, config, clock).start();
    MicroAppReconciler reconciler = new MicroAppReconciler(policies,
        new io.safedefaults.microapp.hosts.HostClaims(keysNamespace()), metrics, keys::decryptor,
        Duration.ofDays(keyRotationDays), clock, gatewayApi(client), edgePolicyApi(client))
        .wrapSessionKeysWith(sessionKms.wrapping(kms));
    policies.onChange(reconciler::policyChanged);
    io.safedefaults.microapp.runtime.ScanReports scans = new io.safedefaults.microapp.runtime.ScanReports(client, watched);
    reconciler.scanReports(scans);
    scans.onChange(reconciler::policyChanged);
    scans.onServed(reconciler::reconcileAll);
    scans.start();
    io.safedefaults.microapp.audit.OverrideNotifier notifier = new io.safedefaults.microapp.audit.OverrideNotifier(
        client, keysNamespace(), policies::notifyKeys, notifyWebhookKey, Duration.ofSeconds(2), 6);
    reconciler.notifyOverridesTo(notifier);
    if (shard != null) {
      reconciler.writeOnlyIn(shard::owns);
      shard.onHandedOver(reconciler::handedOver);
      registry.gauge("microapp_shard_namespaces", List.of(io.micrometer.core.instrument.Tag.of("state", "held")),
          shard, s -> s.owned().size());
      registry.gauge("microapp_shard_namespaces", List.of(io.micrometer.core.instrument.Tag.of("state", "waiting")),
          shard, s -> s.waiting().size());
    }
    controller.set(operator.register(reconciler, o -> {
      o.withReconciliationMaxInterval(Duration.ofSeconds(resyncSeconds));
      if (shard != null) {
        // until the leader's shard holds namespaces (then it follows them: startFollowing)
        o.settingNamespaces(shard.idleNamespaces());
      } else if (!watched.isEmpty()) {
        o.settingNamespaces(Set.copyOf(watched));
      }
    }));
    keys.watch(reconciler::sealingKeysChanged);

    CountDownLatch stopped = new CountDownLatch(1);
    try (HealthServer health = new HealthServer(httpAddress, httpPort, () -> true, () -> unready(operator, keys),
        registry::scrape)) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        stopping.set(true);
        LOG.info("stopping on signal");
        if (shard != null) {
          shard.close(); // no namespace changes hands while the controllers stop
        }
        operator.stop();
        if (leaderElection) {
          // only now that no controller runs: a standby must not start while we still reconcile
          try {
            if (LeaderLease.release(client, leaseNamespace, lease, identity, clock)) {
              LOG.info("released the lease {}", lease);
            }
          } catch (RuntimeException e) {
            LOG.warn("could not release the lease {} ({}); a standby takes over when it expires", lease, e.getMessage());
          }
        }
        client.close();
        stopped.countDown();
      }, "shutdown"));
      operator.start();
      LOG.info("microapp-operator started; health and metrics on {}:{}", httpAddress, health.port());
      stopped.await();
    }
    return 0;
  }
}
