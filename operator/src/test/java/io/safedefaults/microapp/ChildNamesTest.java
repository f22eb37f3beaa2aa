package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.OperatorConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The naming rule (Names) over generated app names: every name admission accepts gives child
 * names the API server accepts, and no two apps in a namespace share a child name of one kind.
 * Children come from the renderer, so a new child or a renamed one is covered without edits here.
 */
class ChildNamesTest {
  /** What admission accepts (MicroApp's metadata.name rule). */
  static final Pattern APP_NAME = Pattern.compile("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$");
  /** A DNS subdomain (RFC 1123), what the API server requires of most names. */
  static final Pattern SUBDOMAIN = Pattern.compile(
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
  static final Map<String, Integer> MAX_LENGTH = Map.of("Service", 63, "CronJob", 52);
  static final OperatorConfig CONFIG = OperatorConfig.builder()
      .clusterIssuer("letsencrypt-test").defaultIssuer("https://login.example.com/realms/acme").build();

  static final OperatorConfig GATEWAY = CONFIG.toBuilder().exposure(io.safedefaults.microapp.policy.Exposure.gateway(
      "--", "public", "gateway-system", "https", "http", List.of()))
      .gatewayEdgeLimits(io.safedefaults.microapp.policy.EdgeLimits.ENVOY_GATEWAY).build();

  @Test
  void everyAcceptedNameYieldsValidChildNamesThatNoOtherAppShares() {
    long seed = Long.getLong("names.seed", System.nanoTime());
    Random random = new Random(seed);
    Set<String> names = new LinkedHashSet<>();
    for (int length = 1; length <= 63; length++) {
      names.add(randomName(random, length));
      names.add("a" + "-".repeat(Math.max(0, length - 2)) + (length > 1 ? "z" : ""));
    }
    for (int i = 0; i < 300; i++) {
      names.add(randomName(random, 1 + random.nextInt(63)));
    }
    // Apps named like another app's children: every child name of every name so far, if admissible.
    Map<String, Map<String, String>> owners = new HashMap<>(); // kind -> child name -> app
    List<String> seedNames = new ArrayList<>(names);
    for (String name : seedNames) {
      for (HasMetadata child : children(name)) {
        if (APP_NAME.matcher(child.getMetadata().getName()).matches()) {
          names.add(child.getMetadata().getName());
        }
      }
    }
    int checked = 0;
    for (String name : names) {
      assertThat(name).as("seed " + seed).matches(APP_NAME);
      for (HasMetadata child : children(name)) {
        String kind = child.getKind();
        String childName = child.getMetadata().getName();
        assertThat(childName).as("%s of %s (seed %d)", kind, name, seed).matches(SUBDOMAIN)
            .hasSizeLessThanOrEqualTo(MAX_LENGTH.getOrDefault(kind, 253));
        String other = owners.computeIfAbsent(kind, k -> new HashMap<>()).putIfAbsent(childName, name);
        assertThat(other).as("%s %s is a child of both %s and %s (seed %d)", kind, childName, other, name, seed)
            .isNull();
        checked++;
      }
    }
    assertThat(checked).as("child names checked").isGreaterThan(names.size() * 8);
  }

  @Test
  void namesThatFitAreKeptAndLongerOnesAreShortenedStably() {
    String fits = "a".repeat(46);
    assertThat(Names.purge(app(fits))).isEqualTo(fits + "-purge");
    String longer = "b".repeat(47);
    String shortened = Names.purge(app(longer));
    assertThat(shortened).hasSize(52).startsWith("b".repeat(37) + "-").endsWith("-purge")
        .isEqualTo(Names.purge(app(longer)));
    // Pinned: a shortened name must not change between versions (the README shows this one).
    assertThat(Names.purge(app("l" + "o".repeat(61) + "g")))
        .isEqualTo("loooooooooooooooooooooooooooooooooooo-1b29abcd-purge");
    // The hash is of the whole name: apps that differ only past the kept start do not collide.
    assertThat(Names.purge(app("b".repeat(46) + "c"))).isNotEqualTo(shortened);
    // A cut that ends in '-' is trimmed, so the result has no "--" before the hash.
    assertThat(Names.purge(app("c".repeat(36) + "-" + "d".repeat(20)))).startsWith("c".repeat(36) + "-")
        .doesNotContain("--");
  }

  static List<HasMetadata> children(String name) {
    MicroApp app = TestApps.where2eat("team-a");
    app.getMetadata().setName(name);
    app.getSpec().setHost(name + ".apps.example.com");
    List<HasMetadata> children = new java.util.ArrayList<>(ManifestRenderer.render(app, CONFIG));
    // Gateway mode's routes too: no app's route may be named like another app's.
    ManifestRenderer.render(app, GATEWAY).stream()
        .filter(io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute.class::isInstance).forEach(children::add);
    assertThat(children).as("rendered children of " + name).isNotEmpty();
    // The certificate's Secret is written by cert-manager under the name the Ingress gives it.
    children.stream().filter(Ingress.class::isInstance).map(Ingress.class::cast).findFirst().ifPresent(ing -> {
      var tls = new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata()
          .withName(ing.getSpec().getTls().get(0).getSecretName()).endMetadata().build();
      children.add(tls);
    });
    return children;
  }

  static MicroApp app(String name) {
    MicroApp app = TestApps.where2eat("team-a");
    app.getMetadata().setName(name);
    return app;
  }

  static String randomName(Random random, int length) {
    String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-";
    StringBuilder b = new StringBuilder().append((char) ('a' + random.nextInt(26)));
    while (b.length() < length - 1) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    if (length > 1) {
      b.append(alphabet.charAt(random.nextInt(36)));
    }
    return b.toString();
  }
}
