package io.safedefaults.microapp.sidecar.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Drives Debian's headless Chromium through the system chromedriver with plain W3C WebDriver
 * calls (no browser or driver downloads, no extra client library).
 */
public final class WebDriverClient implements AutoCloseable {
  private static final String ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
  private final Process driver;
  private final String base;
  private final String session;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public WebDriverClient() throws Exception {
    for (String bin : new String[] {"/usr/bin/chromium", "/usr/bin/chromedriver"}) {
      if (!new File(bin).canExecute()) {
        throw new IllegalStateException(bin + " not found; install it with: apt-get install chromium chromium-driver");
      }
    }
    int port = SidecarHarness.freePort();
    Path profile = Files.createTempDirectory("chromium-profile");
    driver = new ProcessBuilder("/usr/bin/chromedriver", "--port=" + port).redirectErrorStream(true)
        .redirectOutput(profile.resolveSibling(profile.getFileName() + "-driver.log").toFile()).start();
    base = "http://127.0.0.1:" + port;
    long deadline = System.currentTimeMillis() + 15_000;
    while (true) {
      try {
        if (call("GET", "/status", null).getJsonObject("value").getBoolean("ready")) {
          break;
        }
      } catch (java.io.IOException notYet) {
        // starting
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("chromedriver did not start");
      }
      Thread.sleep(100);
    }
    JsonObject caps = new JsonObject().put("capabilities", new JsonObject().put("alwaysMatch", new JsonObject()
        .put("browserName", "chrome")
        .put("goog:chromeOptions", new JsonObject().put("binary", "/usr/bin/chromium").put("args", new JsonArray()
            .add("--headless=new").add("--no-sandbox").add("--disable-gpu").add("--disable-dev-shm-usage")
            .add("--user-data-dir=" + profile)))));
    session = call("POST", "/session", caps).getJsonObject("value").getString("sessionId");
  }

  public void open(String url) throws Exception {
    call("POST", "/session/" + session + "/url", new JsonObject().put("url", url));
  }

  public String currentUrl() throws Exception {
    return call("GET", "/session/" + session + "/url", null).getString("value");
  }

  public String pageSource() throws Exception {
    return call("GET", "/session/" + session + "/source", null).getString("value");
  }

  public String find(String css) throws Exception {
    return call("POST", "/session/" + session + "/element",
        new JsonObject().put("using", "css selector").put("value", css)).getJsonObject("value").getString(ELEMENT);
  }

  public void clear(String element) throws Exception {
    call("POST", "/session/" + session + "/element/" + element + "/clear", new JsonObject());
  }

  public void type(String element, String text) throws Exception {
    call("POST", "/session/" + session + "/element/" + element + "/value", new JsonObject().put("text", text));
  }

  public void click(String element) throws Exception {
    call("POST", "/session/" + session + "/element/" + element + "/click", new JsonObject());
  }

  /** Cookies for the current page as the browser stores them, with their flags. */
  public JsonArray cookies() throws Exception {
    return call("GET", "/session/" + session + "/cookie", null).getJsonArray("value");
  }

  private JsonObject call(String method, String path, JsonObject body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json");
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body.encode()));
    HttpResponse<String> rsp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonObject json = new JsonObject(rsp.body());
    if (rsp.statusCode() >= 400) {
      throw new IllegalStateException("WebDriver " + method + " " + path + ": " + json.getJsonObject("value"));
    }
    return json;
  }

  @Override
  public void close() throws Exception {
    try {
      call("DELETE", "/session/" + session, null);
    } finally {
      driver.destroy();
      driver.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
