package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.safedefaults.microapp.sidecar.support.Browser;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The audit and access logs an auditor reads (checklist 9): who did what as a hashed id, with
 * reasons; never e-mail addresses, tokens or cookies, checked on the JSON lines as written.
 */
class AuditLogPrivacyTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack();
  static ListAppender<ILoggingEvent> captured = new ListAppender<>();
  static LogstashEncoder encoder = new LogstashEncoder();

  @BeforeAll
  static void start() throws Exception {
    encoder.setContext(((Logger) LoggerFactory.getLogger("audit")).getLoggerContext());
    encoder.start();
    captured.start();
    ((Logger) LoggerFactory.getLogger("audit")).addAppender(captured);
    ((Logger) LoggerFactory.getLogger("access")).addAppender(captured);
  }

  @AfterAll
  static void stop() throws Exception {
    ((Logger) LoggerFactory.getLogger("audit")).detachAppender(captured);
    ((Logger) LoggerFactory.getLogger("access")).detachAppender(captured);
  }

  private static String json(ILoggingEvent e) {
    return new String(encoder.encode(e)).strip();
  }

  @Test
  void signInsDenialsStepUpsAndLimitsAreLoggedWithHashedIdsOnly() throws Exception {
    captured.list.clear();
    Browser browser = new Browser();
    stack.provider().nextLogin("alice-subject-123", Map.of("email", "alice.secret@acme.com", "email_verified", true,
        "groups", List.of("food-team"), "preferred_username", "alice.secret"));
    browser.get(stack.sidecar().url("/profile/alice.secret@acme.com?token=query-secret"));
    String sessionCookie = browser.cookie(stack.sidecar().uri("/"), "__Host-microapp-session");
    String bearer = stack.provider().bearer("alice-subject-123", Map.of("groups", List.of("food-team")));
    stack.sidecar().api("/admin/users", bearer);                   // MFA refusal
    stack.sidecar().api("/menu", stack.provider().bearer("mallory", Map.of("groups", List.of("finance")))); // denial
    stack.sidecar().api("/menu", bearer + "x");                      // forged token

    Thread.sleep(200); // the access line is written when the response ends
    List<String> lines = captured.list.stream().map(AuditLogPrivacyTest::json).collect(Collectors.toList());
    String all = String.join("\n", lines);

    assertThat(all).doesNotContain("alice.secret@acme.com", "alice.secret", "alice-subject-123", "mallory",
        "query-secret", bearer, sessionCookie, "127.0.0.1");
    assertThat(lines).anyMatch(l -> l.contains("\"event\":\"sign_in\"") && l.matches(".*\"user\":\"u-[0-9a-f]{32}\".*"));
    assertThat(lines).anyMatch(l -> l.contains("\"event\":\"mfa_step_up\"") && l.contains("\"path\":\"/admin/users\""));
    assertThat(lines).anyMatch(l -> l.contains("\"event\":\"denied\"") && l.contains("not_in_allowed_groups_or_domains"));
    assertThat(lines).anyMatch(l -> l.contains("\"event\":\"denied\"") && l.contains("invalid_token:bad_signature"));
    assertThat(lines).anyMatch(l -> l.contains("\"logger_name\":\"access\"") && l.contains("\"path\":\"/profile/<redacted>\""));

    // the same person has the same pseudonym in every event, browser or API
    List<String> aliceIds = lines.stream().filter(l -> l.contains("sign_in") || l.contains("mfa_step_up"))
        .map(l -> l.replaceAll(".*\"user\":\"(u-[0-9a-f]{32})\".*", "$1")).distinct().toList();
    assertThat(aliceIds).hasSize(1);
    assertThat(Arrays.asList(all.split("\n"))).allMatch(l -> l.startsWith("{") && l.endsWith("}"));
  }
}
