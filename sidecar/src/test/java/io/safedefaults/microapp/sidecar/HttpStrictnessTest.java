package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.sidecar.support.RawHttp;
import io.safedefaults.microapp.sidecar.support.SidecarStack;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * HTTP/1.1 message rules (RFC 9112) at the socket: one Host, one Authorization, no ambiguous
 * framing, and a connection that cannot be trusted any more is closed after the answer, so bytes
 * left over are never read as a request. Every answer, low-level ones included, carries the
 * secure headers.
 */
class HttpStrictnessTest {
  @RegisterExtension
  static final SidecarStack stack = new SidecarStack();

  static String request(String headers) {
    return "GET /api/orders HTTP/1.1\r\n" + headers + "\r\n";
  }

  /** A request whose body, read one way, holds a second request (the smuggling shape). */
  static String smuggling(String framing) {
    String inner = "GET /admin/secret HTTP/1.1\r\nHost: app\r\n\r\n";
    return "POST /api/orders HTTP/1.1\r\nHost: app\r\n" + framing + "\r\n\r\n0\r\n\r\n" + inner;
  }

  @Test
  void ambiguousFramingIsRefusedAndTheConnectionClosed() throws Exception {
    for (String framing : List.of(
        "Transfer-Encoding: chunked\r\nContent-Length: 5",
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: identity",
        "Transfer-Encoding: chunked, identity",
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: +5",
        "Content-Length: 5, 5")) {
      RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, smuggling(framing), 3_000);
      // one answer (a refusal, or for TE+CL, whose Content-Length the decoder drops, the answer to
      // the chunked reading), never a second one to the request hidden in the body
      assertThat(ex.statuses()).as(framing).hasSize(1).allMatch(s -> s >= 400);
      assertThat(ex.closed()).as("closed after: " + framing).isTrue();
      assertThat(ex.text()).as(framing).contains("Strict-Transport-Security");
    }
  }

  /** The same shapes with header names and values spelled in random case and spacing. */
  @Test
  void ambiguousFramingInAnySpellingIsNeverAnsweredTwice() throws Exception {
    java.util.Random random = new java.util.Random(Long.getLong("framing.seed", System.nanoTime()));
    for (int n = 0; n < 30; n++) {
      String te = randomCase("Transfer-Encoding", random) + ":" + " ".repeat(random.nextInt(3))
          + randomCase(List.of("chunked", "chunked ", "gzip, chunked", "chunked,chunked").get(random.nextInt(4)), random);
      String cl = randomCase("Content-Length", random) + ": " + (1 + random.nextInt(40));
      String framing = random.nextBoolean() ? te + "\r\n" + cl : cl + "\r\n" + te;
      RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, smuggling(framing), 3_000);
      assertThat(ex.statuses()).as(framing).hasSizeLessThanOrEqualTo(1);
      assertThat(ex.closed()).as("closed after: " + framing).isTrue();
    }
  }

  static String randomCase(String s, java.util.Random random) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(random.nextBoolean() ? Character.toUpperCase(c) : Character.toLowerCase(c));
    }
    return b.toString();
  }

  @Test
  void aChunkedRequestIsAnsweredThenItsConnectionClosed() throws Exception {
    String chunked = "POST /api/orders HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, chunked + "GET /api/orders HTTP/1.1\r\nHost: app\r\n\r\n", 3_000);
    assertThat(ex.statuses()).hasSize(1);
    assertThat(ex.closed()).isTrue();
  }

  @Test
  void http11NeedsExactlyOneHost() throws Exception {
    for (String headers : List.of("", "Host: a\r\nHost: a\r\n", "Host: a\r\nHost: b\r\n", "Host: a\r\nhost: a\r\n")) {
      RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, request(headers + "Connection: close\r\n"), 3_000);
      assertThat(ex.statuses()).as(headers).containsExactly(400);
      assertThat(ex.text()).contains("Strict-Transport-Security");
    }
  }

  @Test
  void twoAuthorizationHeadersAreRefused() throws Exception {
    String token = stack.provider().bearer("svc-1", Map.of("groups", List.of("food-team")));
    RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, request("Host: app\r\nAuthorization: Bearer " + token
        + "\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n"), 3_000);
    assertThat(ex.statuses()).containsExactly(400);
  }

  @Test
  void lowLevelErrorsCarryTheSecureHeadersAndClose() throws Exception {
    for (String raw : List.of(
        "GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: app\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: app\r\nX-Big: " + "b".repeat(40_000) + "\r\n\r\n",
        "G@T / HTTP/1.1\r\nHost: app\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: app\r\nBad Header: x\r\n\r\n")) {
      RawHttp.Exchange ex = RawHttp.exchange(stack.sidecar().port, raw, 3_000);
      assertThat(ex.statuses()).as(raw.substring(0, 20)).hasSize(1);
      assertThat(ex.text()).as(raw.substring(0, 20)).contains("Strict-Transport-Security").contains("nosniff");
      assertThat(ex.closed()).isTrue();
    }
  }
}
