package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.api.MicroAppPolicy;
import io.safedefaults.microapp.api.MicroAppPolicySpec;
import io.safedefaults.microapp.api.NamespaceSelector;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * Two teams on the real node: a second app claiming a host another team's app serves gets no
 * Ingress and a condition naming the owner's namespace, the ingress controller keeps routing the
 * host to the owner, and when the owner is deleted (its Ingress removed by the real garbage
 * collector) the claimant is served on that host — never both at once. Then a MicroAppPolicy
 * selecting the claimant's namespace by label takes the host away (outside its domains) and gives
 * it back when the policy goes.
 */
@Order(9)
class MultiTenantIT extends E2ETestBase {

  /** The client_id in the sidecar's sign-in redirect for the host: which app answered. */
  static String answeringApp(String host) {
    var r = ingress().get("https://" + host + "/", "Accept: text/html");
    if (r.status() != 302) {
      return "<" + r.status() + ">";
    }
    String location = r.header("Location").orElse("");
    var m = java.util.regex.Pattern.compile("[?&]client_id=([^&]+)").matcher(location);
    return m.find() ? m.group(1) : "<no client_id>";
  }

  static List<Ingress> routing(String host) {
    return client().network().v1().ingresses().inAnyNamespace().list().getItems().stream()
        .filter(i -> i.getSpec().getRules().stream().anyMatch(r -> host.equals(r.getHost()))).toList();
  }

  @Test
  void aHostStaysWithItsOwnerPassesOnWhenItGoesAndFollowsTheClaimantsPolicy() throws Exception {
    String owner = where2eatBehindIngress("mt-owner");
    String host = appHost("where2eat", owner);
    assertThat(answeringApp(host)).isEqualTo("where2eat");

    String other = newNamespace("mt-claimant");
    String hijack = inNamespace(readExample("where2eat.yaml"), other).replace("name: where2eat", "name: hijack")
        .replaceAll("(?m)^(\\s*host:\\s*).*$", "$1" + host);
    applyYaml(hijack, other).orFail();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
        assertThat(condition(microApp(other, "hijack"), "Ready").map(c -> c.getReason()).orElse(""))
            .as(describeStatus(microApp(other, "hijack"))).isEqualTo("HostTaken"));
    assertThat(condition(microApp(other, "hijack"), "Ready").orElseThrow().getMessage())
        .contains(host, "namespace " + owner);
    assertThat(client().network().v1().ingresses().inNamespace(other).withName("hijack").get()).isNull();
    assertThat(answeringApp(host)).as("the owner keeps its host").isEqualTo("where2eat");

    // Sampled while the owner goes: never two Ingresses for the host.
    AtomicReference<String> overlap = new AtomicReference<>();
    Thread watcher = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        try {
          List<Ingress> both = routing(host);
          if (both.size() > 1) {
            overlap.compareAndSet(null, both.stream().map(i -> i.getMetadata().getNamespace()).toList().toString());
          }
          Thread.sleep(50);
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          // a failed list is no overlap; the next sample decides
        }
      }
    });
    watcher.start();
    try {
      client().resources(MicroApp.class).inNamespace(owner).withName("where2eat").delete();
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
          .untilAsserted(() -> assertThat(answeringApp(host)).isEqualTo("hijack"));
    } finally {
      watcher.interrupt();
      watcher.join();
    }
    assertThat(overlap.get()).as("two apps exposed on one host at once").isNull();
    awaitReady(other, "hijack", ExamplesIT.READY);

    // The claimant's team gets a policy whose domains do not cover the host: no exposure, and the
    // condition names the allowed domains. Without the policy, the flags apply again.
    String label = "mt-" + other;
    MicroAppPolicy policy = new MicroAppPolicy();
    policy.setMetadata(new ObjectMetaBuilder().withName(label).build());
    policy.setSpec(new MicroAppPolicySpec());
    policy.getSpec().setNamespaceSelector(NamespaceSelector.labels(Map.of("e2e-team", label)));
    policy.getSpec().setAllowedHostSuffixes(List.of("team.example.org"));
    client().resource(policy).create();
    try {
      client().namespaces().withName(other).edit(n -> {
        n.getMetadata().getLabels().put("e2e-team", label);
        return n;
      });
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
        var ready = condition(microApp(other, "hijack"), "Ready").orElseThrow();
        assertThat(ready.getReason()).isEqualTo("HostNotAllowed");
        assertThat(ready.getMessage()).contains("team.example.org", "policy " + label);
        assertThat(client().network().v1().ingresses().inNamespace(other).withName("hijack").get()).isNull();
      });
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        MicroAppPolicy p = client().resources(MicroAppPolicy.class).withName(label).get();
        assertThat(p.getStatus()).isNotNull();
        assertThat(p.getStatus().getNamespaces()).isEqualTo(1);
      });
    } finally {
      client().resources(MicroAppPolicy.class).withName(label).delete();
    }
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
        .untilAsserted(() -> assertThat(answeringApp(host)).isEqualTo("hijack"));
  }
}
