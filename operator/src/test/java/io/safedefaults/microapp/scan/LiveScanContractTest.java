package io.safedefaults.microapp.scan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The scan expects exactly the fixed headers the sidecar sends (the sidecar's SecureHeaders, read from its source). */
class LiveScanContractTest {
  private static final Path SECURE_HEADERS = Path.of(System.getProperty("repo.dir", ".."),
      "sidecar/src/main/java/io/safedefaults/microapp/sidecar/http/SecureHeaders.java");

  @Test
  void theScansHeadersAreTheSidecars() throws Exception {
    Matcher m = Pattern.compile("headers\\.set\\(\"([^\"]+)\",\\s*\"([^\"]+)\"\\)").matcher(Files.readString(SECURE_HEADERS));
    Map<String, String> sent = new LinkedHashMap<>();
    while (m.find()) {
      sent.put(m.group(1), m.group(2));
    }
    assertThat(sent).isEqualTo(LiveScan.SIDECAR_HEADERS);
    assertThat(LiveScan.STRICT_REFERRER).contains(sent.get("Referrer-Policy"));
    assertThat(LiveScan.HSTS_MAX_AGE).isEqualTo(31536000L);
  }
}
