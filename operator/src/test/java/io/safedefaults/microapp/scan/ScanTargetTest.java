package io.safedefaults.microapp.scan;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scan's input, parsed in one place: every unusable URL or option is refused with exit status
 * 2 and a sentence naming it, before any connection is made (a listening socket sees none).
 */
class ScanTargetTest {
  @TempDir Path dir;

  @Test
  void unusableInputIsRefusedNamingTheOptionAndNothingIsContacted() throws Exception {
    Files.writeString(dir.resolve("not-pem.txt"), "hello");
    try (ServerSocket watch = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      watch.setSoTimeout(200);
      String port = String.valueOf(watch.getLocalPort());
      String ok = "https://app.scan.test:" + port;
      List<String> base = List.of("--connect-to", "127.0.0.1", "--http-port", port);
      Map<List<String>, String> bad = new LinkedHashMap<>();
      for (String url : List.of("", "app.scan.test", "http://app.scan.test", "ftp://app.scan.test", "HTTPS:/x",
          "https://", "https://user:pw@app.scan.test", "https://app.scan.test/admin", "https://app.scan.test/?q=1",
          "https://app.scan.test/#top", "https://app_scan.test", "https://app.scan.test:0", "https://app.scan.test:70000",
          "https://-app.scan.test", "https://app..scan.test", "https://app.scan.test\n/", "https://app scan.test",
          "https://" + "a".repeat(64) + ".test", "https://app.scan.test:" + port + "/%2e%2e/")) {
        bad.put(list("scan", url), "URL");
      }
      for (String p : List.of("admin", "/admin?x", "/admin#x", "/ad min", "/admin/%2e", "/admin/**/x", "/a/../b",
          "/a/./b", "/a**", "/a\\b", "/a;b", "//", "/\u00e9")) {
        bad.put(list("scan", ok, "--admin-path", p), "--admin-path");
      }
      for (String c : List.of("127.0.0.1", "127.0.0.1:", ":8080", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:80x",
          "host_name:80", "[::1:80", "[zz::1]:80", "1.2.3.4.5:80")) {
        bad.put(list("scan", ok, "--closed", c), "--closed");
      }
      for (String t : List.of("0", "121", "-1", "ten", "1.5", "")) {
        bad.put(list("scan", ok, "--timeout", t), "--timeout");
      }
      for (String h : List.of("0", "65536", "http", "-80")) {
        bad.put(list("scan", ok, "--http-port", h), "--http-port");
      }
      for (String a : List.of("bad address", "a_b", "1.2.3.999.1", "")) {
        bad.put(list("scan", ok, "--connect-to", a), "--connect-to");
      }
      bad.put(list("scan", ok, "--ca-file", dir.resolve("missing.pem").toString()), "--ca-file");
      bad.put(list("scan", ok, "--ca-file", dir.resolve("not-pem.txt").toString()), "--ca-file");
      for (String app : List.of("where2eat", "Team/App", "team/", "/app", "a/b/c")) {
        bad.put(list("scan", ok, "--app", app), "--app");
      }
      List<String> mistakes = new ArrayList<>();
      for (var e : bad.entrySet()) {
        List<String> args = new ArrayList<>(e.getKey());
        if (!e.getValue().equals("--connect-to") && !e.getValue().equals("--http-port")) {
          args.addAll(base);
        }
        StringWriter err = new StringWriter();
        int code = Main.commandLine().setOut(new PrintWriter(new StringWriter())).setErr(new PrintWriter(err))
            .execute(args.toArray(String[]::new));
        if (code != 2 || !err.toString().contains(e.getValue())) {
          mistakes.add(args + " -> exit " + code + ": " + err);
        }
      }
      assertThat(mistakes).as("of %d bad inputs", bad.size()).isEmpty();
      boolean contacted;
      try (var s = watch.accept()) {
        contacted = true;
      } catch (SocketTimeoutException e) {
        contacted = false;
      }
      assertThat(contacted).as("a refused scan connects nowhere").isFalse();
    }
  }

  @Test
  void goodInputIsReadAsWritten() {
    ScanTarget t = ScanTarget.parse("HTTPS://Where2Eat.Apps.Example.com/", null, null, null,
        List.of("/admin/**", "/export", "/users/*/delete", "/**"), false, List.of("10.0.0.1:8080", "[::1]:4180"), null);
    assertThat(t.host()).isEqualTo("where2eat.apps.example.com");
    assertThat(t.httpsPort()).isEqualTo(443);
    assertThat(t.httpPort()).isEqualTo(80);
    assertThat(t.connectTo()).isEqualTo(t.host());
    assertThat(t.origin()).isEqualTo("https://where2eat.apps.example.com");
    assertThat(t.adminPaths().stream().map(ScanTarget::probe)).containsExactly("/admin", "/export", "/users/scan/delete", "/");
    assertThat(t.closed()).extracting(Object::toString).containsExactly("10.0.0.1:8080", "[::1]:4180");
    assertThat(t.timeout().toSeconds()).isEqualTo(10);
    assertThat(ScanTarget.parse("https://10.250.0.1:8443", "8080", "10.250.0.1", null, null, false, null, "3").origin())
        .isEqualTo("https://10.250.0.1:8443");
  }

  private static List<String> list(String... s) {
    return List.of(s);
  }
}
