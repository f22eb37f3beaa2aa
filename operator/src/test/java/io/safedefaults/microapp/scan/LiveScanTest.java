package io.safedefaults.microapp.scan;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.safedefaults.microapp.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scan} against real HTTPS and HTTP servers on this machine: a site configured as the
 * operator configures apps passes; each deliberately wrong variant (a header missing or weakened,
 * no redirect, the app open without sign-in, an admin path without step-up, a certificate that is
 * untrusted, for another name or expired, an old protocol, a port left open) fails exactly the
 * check it breaks, and the exit status says so.
 */
class LiveScanTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path dir;
  static ScanTestCa ca;
  static Path caFile;

  @BeforeAll
  static void ca() throws Exception {
    ca = new ScanTestCa("Scan Test CA");
    caFile = ca.writePem(dir.resolve("ca.pem"));
  }

  record Run(int code, JsonNode report, String out, String err) {
    Map<String, String> outcomes() {
      Map<String, String> m = new LinkedHashMap<>();
      report.get("findings").forEach(f -> m.put(f.get("check").asText(), f.get("outcome").asText()));
      return m;
    }
  }

  static Run scan(TestSite site, String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("scan", site.url(), "--connect-to", "127.0.0.1",
        "--http-port", String.valueOf(site.httpPort()), "--ca-file", caFile.toString(), "--admin-path", "/admin/**",
        "--timeout", "5", "-o", "json"));
    args.addAll(List.of(extra));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute(args.toArray(String[]::new));
    return new Run(code, code == 2 ? null : JSON.readTree(out.toString()), out.toString(), err.toString());
  }

  static Run scan(Consumer<TestSite.Behaviour> change, SSLContext tls, String... extra) throws Exception {
    TestSite.Behaviour b = new TestSite.Behaviour();
    change.accept(b);
    try (TestSite site = new TestSite(tls, b)) {
      return scan(site, extra);
    }
  }

  @Test
  void aSiteSetUpAsTheOperatorDoesPassesEveryCheck() throws Exception {
    try (ServerSocket listening = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int closedPort = listening.getLocalPort();
      listening.close(); // a port nothing listens on any more
      Run r = scan(b -> { }, ca.server(TestSite.HOST), "--closed", "127.0.0.1:" + closedPort);
      assertThat(r.code()).as(r.out()).isZero();
      assertThat(r.report().get("ok").asBoolean()).isTrue();
      assertThat(r.outcomes()).as(r.out()).containsOnlyKeys("tls", "redirect", "hsts", "x-content-type-options",
          "referrer-policy", "x-frame-options", "content-security-policy", "x-powered-by", "sign-in", "mfa /admin",
          "closed 127.0.0.1:" + closedPort).allSatisfy((k, v) -> assertThat(v).as(k).isEqualTo("PASS"));
      // the sign-in redirect is reported without its query: state and nonce have no place in a report
      assertThat(r.out()).contains("https://login.scan.test/realms/acme/authorize").doesNotContain("s3cr3t-state");
    }
  }

  /** One thing broken at a time: the check named fails, no other check does. */
  @Test
  void eachBrokenDefaultFailsExactlyItsCheck() throws Exception {
    Map<String, Consumer<TestSite.Behaviour>> broken = new LinkedHashMap<>();
    for (String h : List.of("Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
        "Content-Security-Policy")) {
      broken.put("missing " + h + "|" + check(h), b -> {
        b.headers.remove(h);
        if (h.equals("X-Frame-Options")) { // the CSP's frame-ancestors 'none' would stand in for it
          b.headers.put("Content-Security-Policy", "default-src 'self'");
        }
      });
    }
    for (String weak : List.of("max-age=0", "max-age=1", "max-age=300", "max-age=86400", "max-age=31535999",
        "max-age=15768000; includeSubDomains", "max-age=abc", "includeSubDomains", "max-age=31536000; max-age=5")) {
      broken.put("HSTS '" + weak + "'|hsts", b -> b.headers.put("Strict-Transport-Security", weak));
    }
    for (String policy : List.of("unsafe-url", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin",
        "no-referrer, unsafe-url")) {
      broken.put("Referrer-Policy " + policy + "|referrer-policy", b -> b.headers.put("Referrer-Policy", policy));
    }
    for (String xfo : List.of("ALLOWALL", "SAMEORIGIN", "ALLOW-FROM https://evil.test")) {
      broken.put("X-Frame-Options " + xfo + "|x-frame-options", b -> {
        b.headers.put("X-Frame-Options", xfo);
        b.headers.put("Content-Security-Policy", "default-src 'self'");
      });
    }
    broken.put("X-Content-Type-Options sniff|x-content-type-options", b -> b.headers.put("X-Content-Type-Options", "sniff"));
    broken.put("plain HTTP serves the app|redirect", b -> b.http = 200);
    broken.put("plain HTTP redirects to plain HTTP|redirect", b -> b.httpLocation = "http://" + TestSite.HOST + "/");
    broken.put("plain HTTP redirects to another site|redirect", b -> b.httpLocation = "https://evil.test/");
    broken.put("plain HTTP redirects to a path|redirect", b -> b.httpLocation = "https://" + TestSite.HOST + "/x");
    broken.put("the app answers a browser without sign-in|sign-in", b -> b.browserRoot = 200);
    broken.put("the app answers an API client without sign-in|sign-in", b -> b.apiRoot = 200);
    broken.put("the app answers 404 instead of a sign-in|sign-in", b -> b.browserRoot = 404);
    broken.put("the admin path asks for an ordinary sign-in|mfa /admin", b -> b.stepUp = false);
    broken.put("the admin path is open|mfa /admin", b -> b.admin = 200);
    broken.put("the admin path is missing|mfa /admin", b -> b.admin = 500);

    SSLContext good = ca.server(TestSite.HOST);
    List<String> mistakes = new ArrayList<>();
    for (var e : broken.entrySet()) {
      String expected = e.getKey().substring(e.getKey().indexOf('|') + 1);
      Run r = scan(e.getValue(), good);
      Map<String, String> outcomes = r.outcomes();
      List<String> failed = outcomes.entrySet().stream().filter(o -> o.getValue().equals("FAIL")).map(Map.Entry::getKey)
          .toList();
      if (r.code() != 1 || !failed.equals(List.of(expected))) {
        mistakes.add(e.getKey() + ": exit " + r.code() + ", failed " + failed + "\n" + r.out());
      }
      // every failure comes with its fix
      r.report().get("findings").forEach(f -> {
        if (f.get("outcome").asText().equals("FAIL") && f.get("fix").asText("").isBlank()) {
          mistakes.add(e.getKey() + ": no fix for " + f);
        }
      });
    }
    assertThat(mistakes).as("variants that did not fail exactly their check (of %d)", broken.size()).isEmpty();
  }

  @Test
  void certificateProblemsFailTheTlsCheckAndSkipTheRest() throws Exception {
    Instant now = Instant.now();
    Map<String, SSLContext> bad = new LinkedHashMap<>();
    bad.put("a certificate for another name", ca.server("other.scan.test"));
    bad.put("a certificate from a CA the scan does not trust", new ScanTestCa("Someone Else").server(TestSite.HOST));
    bad.put("an expired certificate", ca.server(TestSite.HOST, now.minus(Duration.ofDays(90)), now.minus(Duration.ofDays(1))));
    bad.put("a certificate not valid yet", ca.server(TestSite.HOST, now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(90))));
    for (var e : bad.entrySet()) {
      Run r = scan(b -> { }, e.getValue());
      assertThat(r.code()).as(e.getKey() + "\n" + r.out()).isEqualTo(1);
      assertThat(r.outcomes()).as(e.getKey()).containsEntry("tls", "FAIL").containsEntry("redirect", "PASS")
          .containsEntry("hsts", "SKIP").containsEntry("sign-in", "SKIP").containsEntry("mfa", "SKIP");
    }
    Run wrongName = scan(b -> { }, bad.get("a certificate for another name"));
    assertThat(wrongName.out()).contains("does not name " + TestSite.HOST);
    Run untrusted = scan(b -> { }, bad.get("a certificate from a CA the scan does not trust"));
    assertThat(untrusted.out()).contains("does not lead to a CA of --ca-file");
    // a certificate close to its end still passes, with a warning to renew
    Run ending = scan(b -> { }, ca.server(TestSite.HOST, now.minus(Duration.ofDays(80)), now.plus(Duration.ofDays(3))));
    assertThat(ending.code()).isZero();
    assertThat(ending.outcomes()).containsEntry("tls", "WARN");
  }

  @Test
  void aServerWithoutTls12Or13FailsTheTlsCheck() throws Exception {
    for (String[] old : List.of(new String[] {"TLSv1"}, new String[] {"TLSv1.1"}, new String[] {"TLSv1", "TLSv1.1"})) {
      Run r = scan(b -> b.protocols = old, ca.server(TestSite.HOST));
      assertThat(r.code()).as(String.join(",", old) + "\n" + r.out()).isEqualTo(1);
      assertThat(r.outcomes()).containsEntry("tls", "FAIL");
    }
    Run tls12 = scan(b -> b.protocols = new String[] {"TLSv1.2"}, ca.server(TestSite.HOST));
    assertThat(tls12.outcomes()).as(tls12.out()).containsEntry("tls", "PASS");
    assertThat(tls12.out()).contains("TLSv1.2");
  }

  @Test
  void aListeningPortThatShouldBeClosedFails() throws Exception {
    try (ServerSocket app = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Run r = scan(b -> { }, ca.server(TestSite.HOST), "--closed", "127.0.0.1:" + app.getLocalPort());
      assertThat(r.code()).isEqualTo(1);
      assertThat(r.outcomes()).containsEntry("closed 127.0.0.1:" + app.getLocalPort(), "FAIL");
    }
  }

  @Test
  void aPublicAppAnsweringWithoutSignInIsAWarningNotAFailure() throws Exception {
    TestSite.Behaviour b = new TestSite.Behaviour();
    b.browserRoot = 200;
    b.apiRoot = 200;
    try (TestSite site = new TestSite(ca.server(TestSite.HOST), b)) {
      // --app reads visibility from the cluster; the scanner's own switch is the target's publicApp
      ScanTarget t = ScanTarget.parse(site.url(), String.valueOf(site.httpPort()), "127.0.0.1", caFile,
          List.of("/admin/**"), true, List.of(), "5");
      List<Finding> f = new LiveScan(t).run();
      assertThat(f).filteredOn(x -> x.check().equals("sign-in")).singleElement()
          .satisfies(x -> assertThat(x.outcome()).isEqualTo(Finding.Outcome.WARN));
      assertThat(LiveScan.failed(f)).isFalse();
    }
  }

  @Test
  void textOutputNamesEachFailureAndItsFix() throws Exception {
    TestSite.Behaviour b = new TestSite.Behaviour();
    b.headers.put("Strict-Transport-Security", "max-age=300");
    try (TestSite site = new TestSite(ca.server(TestSite.HOST), b)) {
      StringWriter out = new StringWriter();
      int code = Main.commandLine().setOut(new PrintWriter(out)).execute("scan", site.url(), "--connect-to", "127.0.0.1",
          "--http-port", String.valueOf(site.httpPort()), "--ca-file", caFile.toString());
      assertThat(code).isEqualTo(1);
      assertThat(out.toString())
          .contains("FAIL  hsts", "max-age=300 is shorter than the default 31536000 seconds (365 days)",
              "Fix: Send 'Strict-Transport-Security: max-age=31536000; includeSubDomains'", "SKIP  mfa", "1 check failed.");
    }
  }

  private static String check(String header) {
    return header.equals("Strict-Transport-Security") ? "hsts" : header.toLowerCase(java.util.Locale.ROOT);
  }
}
