package io.safedefaults.microapp.policy;

import io.safedefaults.microapp.api.ApprovalSpec;
import io.safedefaults.microapp.api.DefaultOverride.Setting;
import io.safedefaults.microapp.api.ImageScanSpec;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import io.safedefaults.microapp.api.RateLimitSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.BinaryOperator;
import java.util.function.Function;

/**
 * A namespace's policy: the operator's flags, with each field a selecting MicroAppPolicy sets
 * replacing the flag value. Where several policies select the namespace, each field takes the
 * strictest value among those that set it: the smallest maximum and default, the intersection of
 * allowed hosts, issuers and overrides, enforce over audit. Exemptions granted by any of them apply.
 * A default above its own maximum is lowered to it. Nothing here ever loosens a bound on doubt.
 */
public final class PolicyMerge {
  private PolicyMerge() {}

  /** The policies (by name order) whose selector matches a namespace with these labels. */
  public static List<MicroAppPolicy> selecting(List<MicroAppPolicy> policies, Map<String, String> labels) {
    return policies.stream().filter(p -> p.getSpec() != null && matches(p.getSpec().getNamespaceSelector(), labels))
        .sorted(Comparator.comparing(p -> p.getMetadata().getName())).toList();
  }

  /**
   * Label selector semantics of the API (matchLabels AND every matchExpression). An expression with
   * an operator the API does not know matches: applying a policy is the stricter doubt.
   */
  public static boolean matches(NamespaceSelector selector, Map<String, String> labels) {
    if (selector == null) {
      return true;
    }
    Map<String, String> l = labels == null ? Map.of() : labels;
    if (selector.getMatchLabels() != null
        && !selector.getMatchLabels().entrySet().stream().allMatch(e -> e.getValue().equals(l.get(e.getKey())))) {
      return false;
    }
    for (NamespaceSelector.Requirement r : selector.getMatchExpressions() == null
        ? List.<NamespaceSelector.Requirement>of() : selector.getMatchExpressions()) {
      List<String> values = r.getValues() == null ? List.of() : r.getValues();
      boolean ok = switch (r.getOperator() == null ? "" : r.getOperator()) {
        case "In" -> l.containsKey(r.getKey()) && values.contains(l.get(r.getKey()));
        case "NotIn" -> !l.containsKey(r.getKey()) || !values.contains(l.get(r.getKey()));
        case "Exists" -> l.containsKey(r.getKey());
        case "DoesNotExist" -> !l.containsKey(r.getKey());
        default -> true;
      };
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /**
   * The strictest gate among the policies that set one: enforce beats audit beats off, the lowest
   * failing severity and counting unfixed vulnerabilities win. Fields no policy sets keep the flags'.
   */
  static OperatorConfig.ImageScanRule imageScan(OperatorConfig.ImageScanRule flags, List<MicroAppPolicySpec> specs) {
    List<ImageScanSpec> set = specs.stream().map(MicroAppPolicySpec::getImageScan).filter(Objects::nonNull).toList();
    ImageScanSpec.Mode mode = set.stream().map(ImageScanSpec::getMode).filter(Objects::nonNull)
        .max(Comparator.naturalOrder()).orElse(flags.mode());
    ImageScanSpec.Severity failAt = set.stream().map(ImageScanSpec::getFailAt).filter(Objects::nonNull)
        .max(Comparator.naturalOrder()).orElse(flags.failAt());
    boolean unfixed = set.stream().map(ImageScanSpec::getIncludeUnfixed).filter(Objects::nonNull)
        .reduce(Boolean::logicalOr).orElse(flags.includeUnfixed());
    return new OperatorConfig.ImageScanRule(mode, failAt, unfixed);
  }

  /**
   * The strict reading: approval is required when any policy requires it, and only groups that every
   * policy naming approver groups names may approve (a member of one team's approver group cannot
   * approve for a namespace another policy also guards). No group in common: nobody can approve, and
   * the app's status says which policies disagree.
   */
  static OperatorConfig.ApprovalRule approval(OperatorConfig.ApprovalRule flags, List<MicroAppPolicySpec> specs) {
    List<ApprovalSpec> set = specs.stream().map(MicroAppPolicySpec::getApproval).filter(Objects::nonNull).toList();
    boolean required = flags.required() || set.stream().anyMatch(a -> Boolean.TRUE.equals(a.getRequired()));
    List<String> groups = intersect(flags.approverGroups().isEmpty() ? null : flags.approverGroups(),
        set.stream().map(ApprovalSpec::getApproverGroups).toList());
    // sorted: the same policies give the same rule whatever order the informer lists them in
    return new OperatorConfig.ApprovalRule(required, groups == null ? List.of() : groups.stream().sorted().toList());
  }

  /** What the operator could not apply as written in one policy; empty when it applies as written. */
  public static List<String> corrections(MicroAppPolicy policy) {
    List<String> out = new ArrayList<>();
    MicroAppPolicySpec s = policy.getSpec();
    if (s == null) {
      return List.of("spec is missing");
    }
    if (s.getNamespaceSelector() != null && s.getNamespaceSelector().getMatchExpressions() != null) {
      s.getNamespaceSelector().getMatchExpressions().stream()
          .filter(r -> !Set.of("In", "NotIn", "Exists", "DoesNotExist").contains(String.valueOf(r.getOperator())))
          .forEach(r -> out.add("namespaceSelector: operator '" + r.getOperator() + "' is not In, NotIn, Exists or"
              + " DoesNotExist; the expression matches every namespace until it is fixed"));
    }
    if (s.getSessionTTL() != null) {
      Optional<Duration> d = ttl(s.getSessionTTL().getDefaultTTL());
      Optional<Duration> m = ttl(s.getSessionTTL().getMax());
      m.filter(v -> v.compareTo(Duration.ofHours(24)) > 0)
          .ifPresent(v -> out.add("sessionTTL.max is above 24h; 24h applies"));
      if (d.isPresent() && m.isPresent() && d.get().compareTo(m.get()) > 0) {
        out.add("sessionTTL.defaultTTL is above sessionTTL.max; the maximum is the default");
      }
    }
    if (s.getRetention() != null && s.getRetention().getDefaultDays() != null && s.getRetention().getMaxDays() != null
        && s.getRetention().getDefaultDays() > s.getRetention().getMaxDays()) {
      out.add("retention.defaultDays is above retention.maxDays; the maximum is the default");
    }
    if (s.getRateLimit() != null && s.getRateLimit().getDefaults() != null && s.getRateLimit().getMax() != null) {
      OperatorConfig.Limits big = new OperatorConfig.Limits(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE);
      OperatorConfig.Limits d = limits(s.getRateLimit().getDefaults(), big);
      OperatorConfig.Limits m = limits(s.getRateLimit().getMax(), big);
      if (d.perIpPerMinute() > m.perIpPerMinute() || d.perIpBurstPerSecond() > m.perIpBurstPerSecond()
          || d.perUserPerMinute() > m.perUserPerMinute()) {
        out.add("rateLimit.defaults is above rateLimit.max; the maximum is the default");
      }
    }
    if (s.getResources() != null && s.getResources().getDefaults() != null && s.getResources().getMax() != null) {
      var d = s.getResources().getDefaults();
      var m = s.getResources().getMax();
      if ((d.getCpu() != null && m.getCpu() != null && Quantity.exceeds(d.getCpu(), m.getCpu()))
          || (d.getMemory() != null && m.getMemory() != null && Quantity.exceeds(d.getMemory(), m.getMemory()))) {
        out.add("resources.defaults is above resources.max; the maximum is the default");
      }
    }
    return out;
  }

  /** The configuration for a namespace that these policies select (empty: the flags alone). */
  public static OperatorConfig effective(OperatorConfig flags, List<MicroAppPolicy> selecting) {
    if (selecting.isEmpty()) {
      return flags;
    }
    List<MicroAppPolicySpec> specs = selecting.stream().map(MicroAppPolicy::getSpec).toList();
    OperatorConfig.Builder b = flags.toBuilder();

    // Maxima first: each default is then kept at or below its maximum.
    Duration maxTtl = min(specs, s -> s.getSessionTTL() == null ? Optional.empty() : ttl(s.getSessionTTL().getMax()),
        flags.maxSessionTtl(), Duration::compareTo);
    maxTtl = maxTtl.compareTo(Duration.ofHours(24)) > 0 ? Duration.ofHours(24) : maxTtl;
    Duration defTtl = min(specs, s -> s.getSessionTTL() == null ? Optional.empty()
        : ttl(s.getSessionTTL().getDefaultTTL()), flags.defaultSessionTtl(), Duration::compareTo);
    b.maxSessionTtl(maxTtl).defaultSessionTtl(defTtl.compareTo(maxTtl) > 0 ? maxTtl : defTtl);

    OperatorConfig.Limits maxLimits = limits(specs, true, flags.maxLimits());
    OperatorConfig.Limits defLimits = limits(specs, false, flags.defaultLimits());
    b.maxLimits(maxLimits).defaultLimits(lowest(defLimits, maxLimits));

    int maxDays = min(specs, s -> s.getRetention() == null ? Optional.empty()
        : Optional.ofNullable(s.getRetention().getMaxDays()), flags.maxRetentionDays(), Integer::compare);
    int defDays = min(specs, s -> s.getRetention() == null ? Optional.empty()
        : Optional.ofNullable(s.getRetention().getDefaultDays()), flags.defaultRetentionDays(), Integer::compare);
    b.maxRetentionDays(maxDays).defaultRetentionDays(Math.min(defDays, maxDays));

    String maxCpu = min(specs, s -> quantity(s, true, true), flags.maxAppResources().cpu(), Quantity::compare);
    String maxMemory = min(specs, s -> quantity(s, true, false), flags.maxAppResources().memory(), Quantity::compare);
    b.maxAppResources(new OperatorConfig.Quantities(maxCpu, maxMemory));
    Optional<String> defCpu = specs.stream().map(s -> quantity(s, false, true)).flatMap(Optional::stream)
        .min(Quantity::compare);
    Optional<String> defMemory = specs.stream().map(s -> quantity(s, false, false)).flatMap(Optional::stream)
        .min(Quantity::compare);
    OperatorConfig.Resources r = flags.appResources();
    String cpuLimit = Quantity.min(defCpu.orElse(r.cpuLimit()), maxCpu);
    String cpuRequest = Quantity.min(defCpu.orElse(r.cpuRequest()), cpuLimit);
    b.appResources(new OperatorConfig.Resources(cpuRequest, cpuLimit,
        Quantity.min(defMemory.orElse(r.memory()), maxMemory)));

    b.allowedHostSuffixes(intersectDomains(flags.allowedHostSuffixes(),
        specs.stream().map(MicroAppPolicySpec::getAllowedHostSuffixes).toList()));
    b.allowedIssuers(intersect(flags.allowedIssuers(), specs.stream().map(s -> s.getAllowedIssuers() == null ? null
        : s.getAllowedIssuers().stream().map(OperatorConfig::normalIssuer).toList()).toList()));
    List<Setting> overrides = intersect(List.copyOf(flags.allowedOverrides()),
        specs.stream().map(MicroAppPolicySpec::getAllowedOverrides).toList());
    b.allowedOverrides(overrides.isEmpty() ? Set.of() : EnumSet.copyOf(overrides));

    b.exposure(exposure(flags.exposure(), selecting));
    b.mode(specs.stream().allMatch(s -> s.getMode() == MicroAppPolicySpec.Mode.AUDIT)
        ? OperatorConfig.Mode.AUDIT : OperatorConfig.Mode.ENFORCE);
    b.imageScan(imageScan(flags.imageScan(), specs));
    b.approval(approval(flags.approval(), specs));
    b.policies(selecting.stream().map(p -> p.getMetadata().getName()).toList());
    List<OperatorConfig.Exemption> exemptions = new ArrayList<>(flags.exemptions());
    for (MicroAppPolicy p : selecting) {
      for (MicroAppPolicySpec.Exemption e : p.getSpec().getExemptions() == null
          ? List.<MicroAppPolicySpec.Exemption>of() : p.getSpec().getExemptions()) {
        expiry(e.getExpires()).ifPresent(at -> exemptions.add(new OperatorConfig.Exemption(p.getMetadata().getName(),
            e.getNamespace(), e.getApp(), e.getSettings() == null ? Set.of() : Set.copyOf(e.getSettings()),
            e.getJustification(), at)));
      }
    }
    b.exemptions(exemptions);
    return b.build();
  }

  /**
   * Exposure is not stricter or looser, so it does not merge like the bounds: the policies that set
   * it must agree. None sets it: the flags' choice. All that set it say the same: theirs. They
   * differ: the flags' choice marked as a conflict, which keeps every app with a host in these
   * namespaces unexposed (AppPlan, ExposureConflict) until the platform team settles it: routing an
   * app through an entry point one of its policies did not choose is the thing not to guess.
   */
  static Exposure exposure(Exposure flags, List<MicroAppPolicy> selecting) {
    List<MicroAppPolicy> setting = selecting.stream().filter(p -> p.getSpec().getExposure() != null
        && p.getSpec().getExposure().getMode() != null).toList();
    if (setting.isEmpty()) {
      return flags;
    }
    List<Exposure> chosen = new ArrayList<>();
    for (MicroAppPolicy p : setting) {
      try {
        chosen.add(exposure(p.getSpec().getExposure()));
      } catch (IllegalArgumentException e) {
        return flags.conflicting("policy " + p.getMetadata().getName() + ": " + e.getMessage());
      }
    }
    if (chosen.stream().distinct().count() == 1) {
      return chosen.get(0);
    }
    return flags.conflicting("policies " + String.join(", ", setting.stream().map(p -> p.getMetadata().getName())
        .toList()) + " select this namespace and choose different exposures ("
        + String.join("; ", chosen.stream().map(PolicyMerge::describe).toList()) + ")");
  }

  private static Exposure exposure(MicroAppPolicySpec.ExposureSpec e) {
    if (e.getMode() == MicroAppPolicySpec.ExposureMode.INGRESS) {
      return Exposure.ingress();
    }
    MicroAppPolicySpec.GatewayRef g = e.getGateway() == null ? new MicroAppPolicySpec.GatewayRef() : e.getGateway();
    return Exposure.gateway("exposure.", g.getName(), g.getNamespace(),
        g.getHttpsListener() == null ? "https" : g.getHttpsListener(),
        g.getHttpListener() == null ? "http" : g.getHttpListener(),
        g.getDataPlaneNamespaces() == null ? List.of() : g.getDataPlaneNamespaces());
  }

  private static String describe(Exposure e) {
    return e.gatewayMode() ? "gateway " + e.gateway().namespace() + "/" + e.gateway().name()
        + " listeners " + e.gateway().httpsListener() + "/" + e.gateway().httpListener() : "ingress";
  }

  /** An exemption's expiry; one that cannot be read has expired (it grants nothing). */
  static Optional<Instant> expiry(String text) {
    try {
      return Optional.of(OffsetDateTime.parse(text).toInstant());
    } catch (RuntimeException e) {
      return Optional.of(Instant.EPOCH);
    }
  }

  private static <T> T min(List<MicroAppPolicySpec> specs, Function<MicroAppPolicySpec, Optional<T>> field,
      T flag, java.util.Comparator<T> order) {
    List<T> set = specs.stream().map(field).flatMap(Optional::stream).toList();
    return set.isEmpty() ? flag : set.stream().min(order).orElseThrow();
  }

  private static Optional<String> quantity(MicroAppPolicySpec s, boolean max, boolean cpu) {
    if (s.getResources() == null) {
      return Optional.empty();
    }
    var q = max ? s.getResources().getMax() : s.getResources().getDefaults();
    return q == null ? Optional.empty() : Optional.ofNullable(cpu ? q.getCpu() : q.getMemory());
  }

  private static Optional<Duration> ttl(String text) {
    return text == null ? Optional.empty() : AppPlan.parseTtl(text);
  }

  /** The numbers a policy sets, the others from {@code fallback} (null: Integer.MAX_VALUE). */
  private static OperatorConfig.Limits limits(RateLimitSpec s, OperatorConfig.Limits fallback) {
    OperatorConfig.Limits f = fallback == null
        ? new OperatorConfig.Limits(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE) : fallback;
    if (s == null) {
      return f;
    }
    return new OperatorConfig.Limits(
        s.getPerIP() != null && s.getPerIP().getRequestsPerMinute() != null ? s.getPerIP().getRequestsPerMinute() : f.perIpPerMinute(),
        s.getPerIP() != null && s.getPerIP().getBurstPerSecond() != null ? s.getPerIP().getBurstPerSecond() : f.perIpBurstPerSecond(),
        s.getPerUser() != null && s.getPerUser().getRequestsPerMinute() != null ? s.getPerUser().getRequestsPerMinute() : f.perUserPerMinute());
  }

  /** Each of the three numbers: the smallest a policy sets, else the flag's. */
  private static OperatorConfig.Limits limits(List<MicroAppPolicySpec> specs, boolean max, OperatorConfig.Limits flag) {
    Function<MicroAppPolicySpec, RateLimitSpec> of = s -> s.getRateLimit() == null ? null
        : max ? s.getRateLimit().getMax() : s.getRateLimit().getDefaults();
    return new OperatorConfig.Limits(
        min(specs, s -> Optional.ofNullable(of.apply(s)).map(RateLimitSpec::getPerIP)
            .map(RateLimitSpec.PerIp::getRequestsPerMinute), flag.perIpPerMinute(), Integer::compare),
        min(specs, s -> Optional.ofNullable(of.apply(s)).map(RateLimitSpec::getPerIP)
            .map(RateLimitSpec.PerIp::getBurstPerSecond), flag.perIpBurstPerSecond(), Integer::compare),
        min(specs, s -> Optional.ofNullable(of.apply(s)).map(RateLimitSpec::getPerUser)
            .map(RateLimitSpec.PerUser::getRequestsPerMinute), flag.perUserPerMinute(), Integer::compare));
  }

  private static OperatorConfig.Limits lowest(OperatorConfig.Limits a, OperatorConfig.Limits b) {
    return new OperatorConfig.Limits(Math.min(a.perIpPerMinute(), b.perIpPerMinute()),
        Math.min(a.perIpBurstPerSecond(), b.perIpBurstPerSecond()), Math.min(a.perUserPerMinute(), b.perUserPerMinute()));
  }

  /** Exact-value lists: the values every policy that sets the list allows (null: no policy sets it). */
  private static <T> List<T> intersect(List<T> flag, List<List<T>> lists) {
    List<List<T>> set = lists.stream().filter(l -> l != null).toList();
    if (set.isEmpty()) {
      return flag;
    }
    Set<T> out = new LinkedHashSet<>(set.get(0));
    set.forEach(out::retainAll);
    return List.copyOf(out);
  }

  /**
   * Domain lists: the domains every policy that sets one allows. {@code example.com} and
   * {@code a.example.com} have {@code a.example.com} in common.
   */
  static List<String> intersectDomains(List<String> flag, List<List<String>> lists) {
    List<List<String>> set = lists.stream().filter(l -> l != null).toList();
    if (set.isEmpty()) {
      return flag;
    }
    BinaryOperator<List<String>> both = (a, b) -> {
      Set<String> out = new LinkedHashSet<>();
      a.stream().filter(x -> b.stream().anyMatch(y -> OperatorConfig.covers(y, x))).forEach(out::add);
      b.stream().filter(y -> a.stream().anyMatch(x -> OperatorConfig.covers(x, y))).forEach(out::add);
      return List.copyOf(out);
    };
    return set.stream().reduce(both).orElseThrow();
  }
}
