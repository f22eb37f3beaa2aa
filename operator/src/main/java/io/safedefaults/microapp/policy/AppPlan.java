package io.safedefaults.microapp.policy;

import io.safedefaults.microapp.api.AuthSpec;
import io.safedefaults.microapp.api.DefaultOverride;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppSpec;
import io.safedefaults.microapp.api.PurgeSpec;
import io.safedefaults.microapp.api.RateLimitSpec;
import io.safedefaults.microapp.api.RetentionSpec;
import io.safedefaults.microapp.api.Visibility;
import io.safedefaults.microapp.kube.ContentHash;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A MicroApp resolved against the cluster policy: every default filled in, every bound applied,
 * every override checked. A pure function of its inputs, so desired state can be rendered offline.
 * Where a setting is out of bounds the plan fails closed (the stricter value) and records a problem.
 */
public record AppPlan(
    String name,
    String namespace,
    int port,
    String host,
    Visibility visibility,
    String issuer,
    String clientId,
    List<String> allowedGroups,
    List<String> allowedEmailDomains,
    List<String> adminPaths,
    boolean mfaOnAdminPaths,
    Duration sessionTtl,
    OperatorConfig.Limits limits,
    boolean networkPolicyRelaxed,
    Map<Setting, String> relaxed,
    List<Problem> problems,
    SealedNames sealed,
    Retention retention,
    OperatorConfig.Resources appResources,
    /** The app container's image, as the spec names it (admission checked its form). */
    String image,
    OperatorConfig config) {

  /**
   * Data retention resolved: TTL in days (bounded by policy), the purge target (null when the
   * app declares none), whether a justified override turned the purge off, the daily schedule.
   */
  public record Retention(int ttlDays, PurgeSpec purge, boolean relaxed, String schedule,
      String exportPath, String deletePath) {
    public boolean scheduled() {
      return purge != null && !relaxed;
    }

    /**
     * An http purge calls the app's purge path through the sidecar with a token: the token Secret,
     * the sidecar's and the app's token mounts, and the purge pods' way through the NetworkPolicy.
     */
    public boolean usesToken() {
      return scheduled() && purge.getHttp() != null;
    }
  }

  /**
   * What the pod needs to know about sealed values, without opening them: the names of the app's
   * values, whether there is a client secret, where files go, and a hash of the ciphertexts that
   * rolls the pods when a value changes.
   */
  public record SealedNames(List<String> appValues, boolean clientSecret, String mountPath, String hash) {
    public boolean any() {
      return clientSecret || !appValues.isEmpty();
    }

    /** An app's sealed values, read from its spec alone: no policy, no plan. */
    public static SealedNames of(MicroApp app) {
      MicroAppSpec spec = app.getSpec() == null ? new MicroAppSpec() : app.getSpec();
      return sealedNames(spec, spec.getAuth() == null ? new AuthSpec() : spec.getAuth());
    }
  }

  private static final Pattern DNS_LABEL = Pattern.compile("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$");
  private static final Pattern TTL = Pattern.compile("^(?:(\\d+)h)?(?:(\\d+)m)?$");

  public static AppPlan resolve(MicroApp app, OperatorConfig config) {
    return resolve(app, config, java.time.Instant.now());
  }

  /**
   * @param config the policy of the app's namespace (the flags merged with the MicroAppPolicies
   *     selecting it, PolicyMerge)
   * @param now decides which exemptions have expired
   */
  public static AppPlan resolve(MicroApp app, OperatorConfig config, java.time.Instant now) {
    MicroAppSpec spec = app.getSpec() == null ? new MicroAppSpec() : app.getSpec();
    AuthSpec auth = spec.getAuth() == null ? new AuthSpec() : spec.getAuth();
    String name = app.getMetadata().getName();
    List<Problem> problems = new ArrayList<>();

    if (app.getSpec() == null) {
      // The CRD requires spec, but objects stored before it did (or written around it) must not
      // reach the builders: nothing is created and status says what to add.
      problems.add(new Problem(Problem.Area.SPEC, "SpecMissing",
          "spec is missing; add at least spec.image (and spec.host to expose the app)", true));
    }
    if (!DNS_LABEL.matcher(name).matches()) {
      problems.add(new Problem(Problem.Area.NAME, "InvalidName",
          "metadata.name '" + name + "' cannot name the app's Service; use at most 63 lowercase letters,"
              + " digits and '-', starting with a letter", true));
    }

    boolean audit = config.mode() == OperatorConfig.Mode.AUDIT;
    Map<Setting, String> relaxed = new EnumMap<>(Setting.class);
    List<DefaultOverride> overrides = spec.getOverrides() == null ? List.of() : spec.getOverrides();
    String namespace = app.getMetadata().getNamespace();
    List<OperatorConfig.Exemption> exemptions = config.exemptions().stream()
        .filter(e -> e.namespace().equals(namespace) && e.app().equals(name)).toList();
    for (int i = 0; i < overrides.size(); i++) {
      DefaultOverride o = overrides.get(i);
      if (o.getSetting() == null) {
        continue; // the schema requires it; nothing to relax
      }
      Optional<OperatorConfig.Exemption> exempt = exemptions.stream()
          .filter(e -> e.settings().contains(o.getSetting()) && e.expires().isAfter(now)).findFirst();
      Optional<OperatorConfig.Exemption> expired = exemptions.stream()
          .filter(e -> e.settings().contains(o.getSetting()) && !e.expires().isAfter(now)).findFirst();
      String field = "spec.overrides[" + i + "]: ";
      if (config.allowedOverrides().contains(o.getSetting())) {
        relaxed.put(o.getSetting(), o.getJustification());
      } else if (exempt.isPresent()) {
        relaxed.put(o.getSetting(), o.getJustification() + " [exempted by policy " + exempt.get().policy()
            + " until " + exempt.get().expires() + "]");
      } else if (audit) {
        relaxed.put(o.getSetting(), o.getJustification());
        problems.add(Problem.audit(Problem.Area.OVERRIDES, "OverrideNotAllowed", AUDIT + field + config.source()
            + " does not allow relaxing " + o.getSetting().wireName() + "; applied because it audits only"));
      } else if (expired.isPresent()) {
        problems.add(new Problem(Problem.Area.OVERRIDES, "ExemptionExpired", field + "the exemption for "
            + o.getSetting().wireName() + " granted by policy " + expired.get().policy() + " expired at "
            + expired.get().expires() + "; remove the override or ask your platform team to renew it", true));
      } else {
        problems.add(new Problem(Problem.Area.OVERRIDES, "OverrideNotAllowed",
            field + config.source() + " does not allow relaxing " + o.getSetting().wireName()
                + "; remove the override or ask your platform team to allow it", true));
      }
    }

    Visibility visibility = spec.getVisibility() == null ? Visibility.PRIVATE : spec.getVisibility();
    if (visibility == Visibility.PUBLIC && !relaxed.containsKey(Setting.VISIBILITY)) {
      visibility = Visibility.PRIVATE; // fail closed: nobody outside the allow lists gets in
    }

    String issuer = Optional.ofNullable(auth.getIssuer()).orElse(config.defaultIssuer());
    if (issuer == null && visibility != Visibility.PUBLIC) {
      problems.add(new Problem(Problem.Area.AUTH, "IssuerMissing",
          "spec.auth.issuer is not set and the operator has no default issuer; set spec.auth.issuer to your"
              + " OIDC provider's URL, e.g. https://login.example.com/realms/acme", true));
    }

    if (issuer != null && visibility != Visibility.PUBLIC && !config.allowsIssuer(issuer)) {
      problems.add(new Problem(Problem.Area.AUTH, "IssuerNotAllowed", (audit ? AUDIT : "") + "the issuer " + issuer
          + (auth.getIssuer() == null ? " (the operator's default)" : " (spec.auth.issuer)") + " is not one "
          + config.source() + " allows for signed-in apps: " + listOrNone(config.allowedIssuers())
          + (audit ? "; signing in there is allowed because the policy audits only"
              : "; use one of them, or ask your platform team to add yours"), !audit, audit));
    }

    if (issuer != null && visibility == Visibility.ORGANIZATION && config.allowedIssuers() == null
        && !OperatorConfig.normalIssuer(issuer).equals(
            config.defaultIssuer() == null ? null : OperatorConfig.normalIssuer(config.defaultIssuer()))) {
      // "Anyone who can sign in at the issuer" is the organization only at the organization's own
      // provider; at a public one (accounts.google.com) it is everyone with an account there.
      problems.add(new Problem(Problem.Area.AUTH, "OrganizationIssuerNotAllowed", (audit ? AUDIT : "")
          + "visibility organization lets in everyone who can sign in at " + issuer + ", and only the operator's"
          + " default issuer or one a MicroAppPolicy lists in allowedIssuers counts as your organization's;"
          + (audit ? " signing in there is allowed because the policy audits only"
              : " use visibility private with allowedGroups or allowedEmailDomains, or ask your platform team to"
                  + " allow this issuer"), !audit, audit));
    }

    Duration ttl = config.defaultSessionTtl();
    if (auth.getSessionTTL() != null) {
      Optional<Duration> parsed = parseTtl(auth.getSessionTTL());
      if (parsed.isEmpty()) {
        problems.add(new Problem(Problem.Area.AUTH, "InvalidSessionTTL",
            "spec.auth.sessionTTL '" + auth.getSessionTTL() + "' is not hours and/or minutes such as 8h or 90m;"
                + " the default " + format(ttl) + " applies", false));
      } else {
        ttl = parsed.get();
      }
    }
    if (ttl.compareTo(config.maxSessionTtl()) > 0 && !relaxed.containsKey(Setting.SESSION_TTL)) {
      if (audit) {
        problems.add(Problem.audit(Problem.Area.AUTH, "SessionTTLTooLong", AUDIT + "spec.auth.sessionTTL "
            + format(ttl) + " is longer than the maximum " + format(config.maxSessionTtl()) + " of " + config.source()
            + "; applied because the policy audits only"));
      } else {
        problems.add(new Problem(Problem.Area.AUTH, "SessionTTLTooLong",
            "spec.auth.sessionTTL " + format(ttl) + " is longer than the maximum " + format(config.maxSessionTtl())
                + " of " + config.source() + "; sessions last " + format(config.maxSessionTtl())
                + " until you shorten it or add a justified sessionTTL override", false));
        ttl = config.maxSessionTtl();
      }
    }
    if (ttl.compareTo(Duration.ofHours(24)) > 0) {
      ttl = Duration.ofHours(24); // no policy or override makes a session outlive a day
    }

    OperatorConfig.Limits limits = resolveLimits(spec.getRateLimit(), config, relaxed, audit, problems);

    String host = spec.getHost();
    if (host != null && !config.allowsHost(host)) {
      problems.add(new Problem(Problem.Area.HOST, "HostNotAllowed", (audit ? AUDIT : "") + "spec.host " + host
          + " is outside the domains " + config.source() + " allows: " + listOrNone(config.allowedHostSuffixes())
          + (audit ? "; exposed because the policy audits only" : "; use a host under one of them"), !audit, audit));
    }
    if (host != null && config.exposure().conflict() != null) {
      problems.add(new Problem(Problem.Area.TLS, "ExposureConflict", "spec.host is set but "
          + config.exposure().conflict() + "; the app gets no route and no Ingress until your platform team makes"
          + " them agree", true));
    }
    // In gateway mode the certificate is the Gateway listener's, managed by the platform (README, "Gateway API").
    if (host != null && config.clusterIssuer() == null && !config.exposure().gatewayMode()) {
      problems.add(new Problem(Problem.Area.TLS, "ClusterIssuerMissing",
          "spec.host is set but the operator has no cert-manager cluster issuer (--cluster-issuer), so no"
              + " certificate can be issued; ask your platform team to configure one, or remove spec.host", true));
    }

    // Resolved before the record is built: it adds to problems, which the record copies.
    Retention retention = resolveRetention(app, spec, config, relaxed, problems);
    OperatorConfig.Resources resources = resolveResources(spec.getResources(), config, audit, problems);
    return new AppPlan(
        name,
        app.getMetadata().getNamespace(),
        spec.getPort() == null ? 8080 : spec.getPort(),
        host,
        visibility,
        issuer,
        Optional.ofNullable(auth.getClientId()).orElse(name),
        List.copyOf(nullToEmpty(auth.getAllowedGroups())),
        List.copyOf(nullToEmpty(auth.getAllowedEmailDomains())),
        List.copyOf(nullToEmpty(auth.getAdminPaths())),
        !relaxed.containsKey(Setting.MFA),
        ttl,
        limits,
        relaxed.containsKey(Setting.NETWORK_POLICY),
        Map.copyOf(relaxed),
        List.copyOf(problems),
        sealedNames(spec, auth),
        retention,
        resources,
        spec.getImage(),
        config);
  }

  private static final String AUDIT = "audit: ";

  private static String listOrNone(List<String> allowed) {
    return allowed.isEmpty() ? "none (the policies selecting this namespace have no value in common)"
        : String.join(", ", allowed);
  }

  /**
   * The app container's CPU (request and limit) and memory: what the app asks for or the policy's
   * default, within the policy's maximum. Enforced: the maximum applies and the app is not exposed
   * until its spec is within bounds (an unbounded request is a violation, not a wish); audited: what
   * was asked applies.
   */
  private static OperatorConfig.Resources resolveResources(io.safedefaults.microapp.api.AppResources asked,
      OperatorConfig config, boolean audit, List<Problem> problems) {
    OperatorConfig.Resources d = config.appResources();
    OperatorConfig.Quantities max = config.maxAppResources();
    String cpu = asked == null ? null : asked.getCpu();
    String memory = asked == null || asked.getMemory() == null ? d.memory() : asked.getMemory();
    String cpuRequest = cpu == null ? d.cpuRequest() : cpu;
    String cpuLimit = cpu == null ? d.cpuLimit() : cpu;
    List<String> over = new ArrayList<>();
    if (Quantity.exceeds(cpuLimit, max.cpu())) {
      over.add("cpu " + cpuLimit + " is above the maximum " + max.cpu());
      if (!audit) {
        cpuLimit = max.cpu();
        cpuRequest = Quantity.min(cpuRequest, max.cpu());
      }
    }
    if (Quantity.exceeds(memory, max.memory())) {
      over.add("memory " + memory + " is above the maximum " + max.memory());
      if (!audit) {
        memory = max.memory();
      }
    }
    if (!over.isEmpty()) {
      problems.add(new Problem(Problem.Area.LEAST_PRIVILEGE, "ResourcesAboveMaximum", (audit ? AUDIT : "")
          + "spec.resources: " + String.join(", ", over) + " of " + config.source()
          + (audit ? "; what was asked applies because the policy audits only"
              : "; the pod runs with the maximum and the app is not exposed until you lower it"), !audit, audit));
    }
    return new OperatorConfig.Resources(cpuRequest, cpuLimit, memory);
  }

  private static Retention resolveRetention(MicroApp app, MicroAppSpec spec, OperatorConfig config,
      Map<Setting, String> relaxed, List<Problem> problems) {
    RetentionSpec r = spec.getRetention() == null ? new RetentionSpec() : spec.getRetention();
    int days = config.defaultRetentionDays();
    if (r.getTtl() != null && r.getTtl().matches("^[0-9]{1,4}d$")) {
      days = Integer.parseInt(r.getTtl().substring(0, r.getTtl().length() - 1));
    }
    if (days > config.maxRetentionDays()) {
      boolean audit = config.mode() == OperatorConfig.Mode.AUDIT;
      problems.add(new Problem(Problem.Area.RETENTION, "RetentionTooLong", (audit ? AUDIT : "")
          + "spec.retention.ttl " + days + "d is longer than the maximum " + config.maxRetentionDays() + "d of "
          + config.source() + (audit ? "; applied because the policy audits only"
              : "; data older than " + config.maxRetentionDays() + "d is purged until you shorten it"), false, audit));
      days = audit ? days : config.maxRetentionDays();
    }
    boolean off = relaxed.containsKey(Setting.RETENTION);
    PurgeSpec purge = r.getPurge();
    if (purge == null && !off) {
      problems.add(new Problem(Problem.Area.RETENTION, "NoPurgeTarget",
          "spec.retention.purge: say how old data is deleted (http, postgres or volume), or add a justified"
              + " retention override if the app keeps no data", false));
    }
    if (purge != null && purge.getPostgres() != null && !off) {
      String conn = purge.getPostgres().getConnection();
      boolean sealed = spec.getSecrets() != null && spec.getSecrets().getSealed() != null
          && spec.getSecrets().getSealed().containsKey(conn);
      if (!sealed) {
        problems.add(new Problem(Problem.Area.RETENTION, "PurgeConnectionMissing",
            "spec.retention.purge.postgres.connection names " + conn + ", which is not in spec.secrets.sealed;"
                + " seal the JDBC URL under that name", false));
        purge = null;
      }
    }
    return new Retention(days, purge, off,
        PurgeSchedule.cron(app.getMetadata().getNamespace(), app.getMetadata().getName()),
        r.getExportPath(), r.getDeletePath());
  }

  private static SealedNames sealedNames(MicroAppSpec spec, AuthSpec auth) {
    Map<String, String> values = spec.getSecrets() == null || spec.getSecrets().getSealed() == null
        ? Map.of() : new java.util.TreeMap<>(spec.getSecrets().getSealed());
    String client = auth.getClientSecret() == null ? null : auth.getClientSecret().getSealed();
    StringBuilder all = new StringBuilder();
    values.forEach((k, v) -> all.append(k).append('=').append(v).append('\n'));
    if (client != null) {
      all.append("auth.clientSecret=").append(client);
    }
    return new SealedNames(List.copyOf(values.keySet()), client != null,
        spec.getSecrets() == null ? null : spec.getSecrets().getMountPath(),
        ContentHash.of(all.toString()));
  }

  /**
   * The PEM the app's sidecar trusts for its provider's TLS (--oidc-ca-file), or null: the JVM's
   * defaults. Only for an app that signs in somewhere; one without an issuer calls no provider.
   */
  public String oidcCaBundle() {
    return issuer == null ? null : config.oidcCaBundle();
  }

  /** This plan with one more problem (one found outside the spec, such as another app holding the host). */
  public AppPlan with(Problem problem) {
    List<Problem> all = new ArrayList<>(problems);
    all.add(0, problem);
    return new AppPlan(name, namespace, port, host, visibility, issuer, clientId, allowedGroups, allowedEmailDomains,
        adminPaths, mfaOnAdminPaths, sessionTtl, limits, networkPolicyRelaxed, relaxed, List.copyOf(all), sealed,
        retention, appResources, image, config);
  }

  /**
   * This plan running the image by content: the digest a scan resolved the spec's tag to, so that the
   * scanned image is the one that runs, whatever the tag points at later.
   */
  public AppPlan withImage(String pinned) {
    return new AppPlan(name, namespace, port, host, visibility, issuer, clientId, allowedGroups, allowedEmailDomains,
        adminPaths, mfaOnAdminPaths, sessionTtl, limits, networkPolicyRelaxed, relaxed, problems, sealed,
        retention, appResources, pinned, config);
  }

  /** Time until the first exemption this app uses expires, if it uses one. */
  public Optional<Duration> exemptionExpiry(java.time.Instant now) {
    return config.exemptions().stream()
        .filter(e -> e.namespace().equals(namespace) && e.app().equals(name) && e.expires().isAfter(now)
            && e.settings().stream().anyMatch(relaxed::containsKey))
        .map(e -> Duration.between(now, e.expires()).plusSeconds(1)).min(Duration::compareTo);
  }

  /** True when the app may be reachable from outside the cluster: a host and nothing blocking. */
  public boolean exposed() {
    return host != null && problems.stream().noneMatch(Problem::blocksExposure);
  }

  /**
   * Whether the sidecar can tell clients apart by address: nothing stands between them (not
   * exposed), or the proxies in front are ones it may believe about X-Forwarded-For. Otherwise
   * every request seems to come from the ingress controller, and a per-IP limit there would be one
   * bucket shared by all users, so the sidecar has none.
   */
  public boolean sidecarLimitsPerIp() {
    return !exposed() || !config.trustedProxyCidrs().isEmpty();
  }

  /** True when the name itself is unusable, or there is no spec, and no child can be created. */
  public boolean fatal() {
    return problems.stream().anyMatch(p -> p.area() == Problem.Area.NAME || p.area() == Problem.Area.SPEC);
  }

  public List<Problem> problems(Problem.Area area) {
    return problems.stream().filter(p -> p.area() == area).toList();
  }

  private static OperatorConfig.Limits resolveLimits(RateLimitSpec spec, OperatorConfig config,
      Map<Setting, String> relaxed, boolean audit, List<Problem> problems) {
    OperatorConfig.Limits d = config.defaultLimits();
    OperatorConfig.Limits max = config.maxLimits();
    Integer ipRpm = spec != null && spec.getPerIP() != null ? spec.getPerIP().getRequestsPerMinute() : null;
    Integer ipBurst = spec != null && spec.getPerIP() != null ? spec.getPerIP().getBurstPerSecond() : null;
    Integer userRpm = spec != null && spec.getPerUser() != null ? spec.getPerUser().getRequestsPerMinute() : null;
    boolean mayExceed = relaxed.containsKey(Setting.RATE_LIMIT);
    String source = config.source();
    return new OperatorConfig.Limits(
        bounded("spec.rateLimit.perIP.requestsPerMinute", ipRpm, d.perIpPerMinute(), max.perIpPerMinute(), mayExceed, audit, source, problems),
        bounded("spec.rateLimit.perIP.burstPerSecond", ipBurst, d.perIpBurstPerSecond(), max.perIpBurstPerSecond(), mayExceed, audit, source, problems),
        bounded("spec.rateLimit.perUser.requestsPerMinute", userRpm, d.perUserPerMinute(), max.perUserPerMinute(), mayExceed, audit, source, problems));
  }

  private static int bounded(String field, Integer asked, int dflt, int max, boolean mayExceed, boolean audit,
      String source, List<Problem> problems) {
    int value = asked == null ? dflt : asked;
    if (value > max && !mayExceed) {
      problems.add(new Problem(Problem.Area.RATE_LIMIT, "RateLimitAboveMaximum", (audit ? AUDIT : "")
          + field + " " + value + " is above the maximum " + max + " of " + source + (audit
              ? "; applied because the policy audits only"
              : "; " + max + " applies until you lower it or add a justified rateLimit override"), false, audit));
      return audit ? value : max;
    }
    return value;
  }

  /** Parses hours and/or minutes (8h, 90m, 1h30m); empty for anything else or zero. */
  public static Optional<Duration> parseTtl(String text) {
    Matcher m = TTL.matcher(text.trim());
    if (text.isBlank() || !m.matches()) {
      return Optional.empty();
    }
    long hours = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
    long minutes = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
    Duration d = Duration.ofHours(hours).plusMinutes(minutes);
    return d.isZero() ? Optional.empty() : Optional.of(d);
  }

  /** Formats like Kubernetes users write durations: 8h, 90m, 1h30m. */
  public static String format(Duration d) {
    long h = d.toHours();
    long m = d.toMinutesPart();
    return (h > 0 ? h + "h" : "") + (m > 0 || h == 0 ? m + "m" : "");
  }

  private static <T> List<T> nullToEmpty(List<T> l) {
    return l == null ? List.of() : l;
  }
}
