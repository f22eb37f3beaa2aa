package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.safedefaults.microapp.access.AppServiceAccount;
import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.auth.SessionKeyWrapping;
import io.safedefaults.microapp.auth.SessionKeys;
import io.safedefaults.microapp.auth.SidecarConfig;
import io.safedefaults.microapp.kms.Kms;
import io.safedefaults.microapp.kms.LocalKms;
import io.safedefaults.microapp.kms.StsTestDouble;
import io.safedefaults.microapp.kms.TransitTestDouble;
import io.safedefaults.microapp.kube.Names;
import io.safedefaults.microapp.policy.AppPlan;
import io.safedefaults.microapp.policy.OperatorConfig;
import io.safedefaults.microapp.retention.PurgeJob;
import io.safedefaults.microapp.workload.AppDeployment;
import java.net.InetAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * Session keysets under the KMS on the real node: the pod the operator's builders make for an app
 * with --kms-session-key-uri, run by the real kubelet, which projects the sidecar's token; the
 * sidecar proves who it is with it and opens its keys, and only then is the pod Ready. Vault is
 * kms/'s Transit TEST DOUBLE (no Vault or OpenBao builds here), AWS is local-kms (a real KMS API)
 * behind kms/'s STS TEST DOUBLE, which verifies every request's SigV4 signature; both listen on
 * the node's address and ask this cluster's TokenReview whose token a sidecar presents, as Vault
 * and STS do. A pod of a service account the Vault role does not bind never gets its keys and
 * says why.
 *
 * <p>The children are created by the test from the operator's own builders (owner references
 * removed), not by the running operator: the suite's operator is installed without a session KMS
 * key, and switching it for one class would roll every other test's pods.
 */
@Order(9)
class SessionKeysKmsIT extends E2ETestBase {
  static final String AUDIENCE = "vault";
  static final String ROLE = "arn:aws:iam::" + LocalKms.ACCOUNT + ":role/microapp-sidecar";
  static String nodeIp;
  static TransitTestDouble vault;
  static String uri;
  static SessionKeyWrapping wrapping;
  static LocalKms localKms;
  static StsTestDouble sts;

  @BeforeAll
  static void startVault() throws Exception {
    nodeIp = client().nodes().list().getItems().get(0).getStatus().getAddresses().stream()
        .filter(a -> "InternalIP".equals(a.getType())).findFirst().orElseThrow().getAddress();
    vault = new TransitTestDouble(InetAddress.getByName(nodeIp), "transit", "microapp-sessions");
    vault.kubernetesAuth("kubernetes", "microapp-sidecar", Set.of("*/where2eat"), jwt -> tokenReview(jwt, AUDIENCE), 600);
    uri = vault.uri("microapp-sessions");
    wrapping = new SessionKeyWrapping(vault.kek("microapp-sessions"), uri);
  }

  @AfterAll
  static void stopVault() throws Exception {
    vault.close();
    if (sts != null) {
      sts.close();
      localKms.close();
    }
  }

  /** What Vault's Kubernetes auth (and, through the cluster's OIDC issuer, STS) does with the JWT a sidecar presents. */
  static Optional<String> tokenReview(String jwt, String audience) {
    TokenReview review = client().resource(new TokenReviewBuilder().withNewSpec().withToken(jwt).withAudiences(audience)
        .endSpec().build()).create();
    if (review.getStatus() == null || !Boolean.TRUE.equals(review.getStatus().getAuthenticated())) {
      return Optional.empty();
    }
    String[] user = review.getStatus().getUser().getUsername().split(":");
    return user.length == 4 && user[0].equals("system") && user[1].equals("serviceaccount")
        ? Optional.of(user[2] + "/" + user[3]) : Optional.empty();
  }

  @Test
  void theSidecarOpensItsKeysWithTheTokenTheKubeletProjectsAndAnUnboundOneIsTurnedAway() throws Exception {
    String ns = newNamespace("kmskeys");
    Deployment deployment = deploy(ns, OperatorConfig.SessionKeyKms.vault(uri, null, Files.readString(vault.caFile),
        "kubernetes", "microapp-sidecar", AUDIENCE), wrapping);
    awaitReady(ns);
    assertThat(vault.logins.get()).as("the sidecar logged in with its projected token").isPositive();
    Pod pod = runningPod(ns, "where2eat");
    String log = kubectl().run("-n", ns, "logs", pod.getMetadata().getName(), "-c", Names.SIDECAR_CONTAINER).orFail().stdout();
    assertThat(log).contains("sidecar started").doesNotContain("hvs.").doesNotContain("eyJ")
        .doesNotContain(vault.token);

    // the same pod under a service account the Vault role does not bind
    client().resource(new ServiceAccountBuilder().withNewMetadata().withName("intruder").withNamespace(ns).endMetadata()
        .withAutomountServiceAccountToken(false).build()).create();
    Deployment intruder = new DeploymentBuilder(deployment).editMetadata().withName("intruder").withResourceVersion(null)
        .withUid(null).endMetadata()
        .editSpec().editSelector().addToMatchLabels("safedefaults.io/app", "intruder").endSelector()
        .editTemplate().editMetadata().addToLabels("safedefaults.io/app", "intruder").endMetadata()
        .editSpec().withServiceAccountName("intruder").endSpec().endTemplate().endSpec().build();
    intruder.setStatus(null);
    client().resource(intruder).inNamespace(ns).create();
    await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
      Pod p = client().pods().inNamespace(ns).withLabel("safedefaults.io/app", "intruder").list().getItems().get(0);
      assertThat(p.getStatus().getContainerStatuses()).filteredOn(c -> c.getName().equals(Names.SIDECAR_CONTAINER))
          .singleElement().satisfies(c -> assertThat(c.getRestartCount()).isPositive());
      String previous = kubectl().run("-n", ns, "logs", p.getMetadata().getName(), "-c", Names.SIDECAR_CONTAINER,
          "--previous").stdout();
      assertThat(previous).contains("(field 'session.kms')").contains("refused the Kubernetes login")
          .contains("HTTP 403").doesNotContain("eyJ");
    });
    assertThat(client().apps().deployments().inNamespace(ns).withName("intruder").get().getStatus().getReadyReplicas())
        .as("never Ready without its keys").isNull();
  }

  /** The app's children as the operator's builders make them with this session key, created in {@code ns}. */
  static Deployment deploy(String ns, OperatorConfig.SessionKeyKms sessionKey, SessionKeyWrapping wrap) throws Exception {
    MicroApp app = Serialization.unmarshal(inNamespace(readExample("where2eat.yaml"), ns), MicroApp.class);
    app.getMetadata().setNamespace(ns);
    OperatorConfig config = SpecContractIT.installedPolicy().sessionKeyKms(sessionKey).build();
    AppPlan plan = AppPlan.resolve(app, config);
    assertThat(plan.fatal()).as("plan problems: %s", plan.problems()).isFalse();
    Deployment deployment = AppDeployment.desired(app, plan);
    List<HasMetadata> children = List.of(AppServiceAccount.desired(app), SidecarConfig.desired(app, plan),
        SessionKeys.desired(app, wrap), PurgeJob.token(app), deployment);
    for (HasMetadata child : children) {
      child.getMetadata().setOwnerReferences(null); // no MicroApp here: the suite's operator must not own them
      client().resource(child).inNamespace(ns).create();
    }
    return deployment;
  }

  static void awaitReady(String ns) {
    await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() ->
        assertThat(client().apps().deployments().inNamespace(ns).withName("where2eat").get().getStatus()
            .getReadyReplicas()).as("pods: %s", podStates(ns)).isEqualTo(1));
  }

  @Test
  void underAnAwsKeyTheSidecarAssumesItsRoleWithTheProjectedTokenAndEveryKmsRequestIsSignedWithIt() throws Exception {
    localKms = new LocalKms();
    sts = new StsTestDouble(InetAddress.getByName(nodeIp), localKms.port, LocalKms.REGION,
        jwt -> tokenReview(jwt, "sts.amazonaws.com"));
    sts.role(ROLE, Set.of("*/where2eat"));
    String key = "aws-kms://" + LocalKms.arn(LocalKms.KEY_A);
    SessionKeyWrapping operator = new SessionKeyWrapping(Kms.fromFlags(key, localKms.endpoint(), null, null)
        .kek(LocalKms.ENV), key);
    String ns = newNamespace("kmsaws");
    deploy(ns, OperatorConfig.SessionKeyKms.aws(key, sts.kmsEndpoint(), null, ROLE, sts.stsEndpoint(),
        "sts.amazonaws.com"), operator);
    awaitReady(ns);
    assertThat(sts.assumed.get()).as("the sidecar assumed its role with the token the kubelet projected").isPositive();
    assertThat(sts.kmsRequests.get()).as("its KMS requests passed the signature check").isGreaterThanOrEqualTo(2);
    String log = kubectl().run("-n", ns, "logs", runningPod(ns, "where2eat").getMetadata().getName(), "-c",
        Names.SIDECAR_CONTAINER).orFail().stdout();
    assertThat(log).contains("sidecar started").doesNotContain("ASIA").doesNotContain("session-").doesNotContain("eyJ");
  }
}
