package io.safedefaults.microapp.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Debian's headless Chromium, driven through the system chromedriver with plain W3C WebDriver
 * calls, as a person on the internet would reach the cluster: every {@code *.example.com} name is
 * resolved to the node's address (where the ingress controller listens), and the cluster's CA is
 * trusted the way a company installs its root: in the browser's certificate store (an NSS database
 * in the profile's home), not by turning certificate checks off.
 */
public final class Chromium implements AutoCloseable {
  private static final String ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Process driver;
  private final String base;
  private final String session;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public Chromium(String nodeAddress, Path caFile, Path workDir) throws Exception {
    for (String bin : List.of("/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/certutil")) {
      if (!new File(bin).canExecute()) {
        throw new IllegalStateException(bin + " not found; e2e/install-test-deps.sh installs chromium, chromium-driver"
            + " and libnss3-tools");
      }
    }
    Path home = Files.createDirectories(workDir.resolve("home"));
    Path nss = Files.createDirectories(home.resolve(".pki/nssdb"));
    run(List.of("/usr/bin/certutil", "-d", "sql:" + nss, "-N", "--empty-password"), home);
    run(List.of("/usr/bin/certutil", "-d", "sql:" + nss, "-A", "-t", "C,,", "-n", "microapp-local-ca", "-i", caFile.toString()), home);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ProcessBuilder pb = new ProcessBuilder("/usr/bin/chromedriver", "--port=" + port).redirectErrorStream(true)
        .redirectOutput(workDir.resolve("chromedriver.log").toFile());
    pb.environment().put("HOME", home.toString());
    driver = pb.start();
    base = "http://127.0.0.1:" + port;
    long deadline = System.currentTimeMillis() + 15_000;
    while (true) {
      try {
        if (call("GET", "/status", null).path("value").path("ready").asBoolean()) {
          break;
        }
      } catch (java.io.IOException notYet) {
        // starting
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("chromedriver did not start; see " + workDir.resolve("chromedriver.log"));
      }
      Thread.sleep(100);
    }
    ObjectNode caps = JSON.createObjectNode();
    ObjectNode options = caps.putObject("capabilities").putObject("alwaysMatch").put("browserName", "chrome")
        .putObject("goog:chromeOptions").put("binary", "/usr/bin/chromium");
    options.putArray("args").add("--headless=new").add("--no-sandbox").add("--disable-gpu").add("--disable-dev-shm-usage")
        .add("--no-first-run").add("--disable-background-networking").add("--disable-component-update")
        .add("--disable-sync").add("--disable-quic").add("--user-data-dir=" + workDir.resolve("profile"))
        .add("--host-resolver-rules=MAP *.example.com " + nodeAddress + ", MAP example.com " + nodeAddress);
    session = call("POST", "/session", caps).path("value").path("sessionId").asText();
  }

  private static void run(List<String> cmd, Path home) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("HOME", home.toString());
    Processes.Finished f = Processes.run(pb, null, Duration.ofSeconds(30)).orElse(null);
    if (f == null || f.code() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: "
          + (f == null ? "not finished within 30 s" : f.out()));
    }
  }

  public void open(String url) throws Exception {
    call("POST", "/session/" + session + "/url", JSON.createObjectNode().put("url", url));
  }

  public String currentUrl() throws Exception {
    return call("GET", "/session/" + session + "/url", null).path("value").asText();
  }

  public String pageSource() throws Exception {
    return call("GET", "/session/" + session + "/source", null).path("value").asText();
  }

  public String title() throws Exception {
    return call("GET", "/session/" + session + "/title", null).path("value").asText();
  }

  public String find(String css) throws Exception {
    return call("POST", "/session/" + session + "/element",
        JSON.createObjectNode().put("using", "css selector").put("value", css)).path("value").path(ELEMENT).asText();
  }

  public void clear(String element) throws Exception {
    call("POST", "/session/" + session + "/element/" + element + "/clear", JSON.createObjectNode());
  }

  public void type(String element, String text) throws Exception {
    call("POST", "/session/" + session + "/element/" + element + "/value", JSON.createObjectNode().put("text", text));
  }

  public void click(String element) throws Exception {
    call("POST", "/session/" + session + "/element/" + element + "/click", JSON.createObjectNode());
  }

  /** Cookies for the current page as the browser stores them, with their flags. */
  public JsonNode cookies() throws Exception {
    return call("GET", "/session/" + session + "/cookie", null).path("value");
  }

  /** Polls until the current URL starts with {@code prefix}; returns it. */
  public String awaitUrl(String prefix, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    String url = currentUrl();
    while (!url.startsWith(prefix) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      url = currentUrl();
    }
    if (!url.startsWith(prefix)) {
      throw new AssertionError("the browser is at " + url + ", not at " + prefix + "…; title: " + title());
    }
    return url;
  }

  private JsonNode call(String method, String path, JsonNode body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json");
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body.toString()));
    HttpResponse<String> rsp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = JSON.readTree(rsp.body());
    if (rsp.statusCode() >= 400) {
      throw new IllegalStateException("WebDriver " + method + " " + path + ": " + json.path("value"));
    }
    return json;
  }

  @Override
  public void close() throws Exception {
    try {
      call("DELETE", "/session/" + session, null);
    } finally {
      Processes.stop(driver, Duration.ofSeconds(10)); // chromedriver and the browser it started
    }
  }
}
