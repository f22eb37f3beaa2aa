package io.safedefaults.microapp.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/** Runs last: every line the operator wrote in this run (all restarts) is one JSON object. */
@Order(Integer.MAX_VALUE)
class OperatorLogIT extends E2ETestBase {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void everyLogLineIsJson() throws IOException {
    List<String> bad = new ArrayList<>();
    int lines = 0;
    for (Path log : operator().logFiles()) {
      int n = 0;
      for (String line : new String(Files.readAllBytes(log), StandardCharsets.UTF_8).split("\n")) {
        n++;
        if (line.isBlank() || n == 1 && line.startsWith("Picked up JAVA_TOOL_OPTIONS: -")) {
          continue;
        }
        lines++;
        try {
          JsonNode node = JSON.readTree(line);
          if (node == null || !node.isObject()) {
            bad.add(log.getFileName() + ":" + n + ": " + abbreviate(line));
          }
        } catch (IOException e) {
          bad.add(log.getFileName() + ":" + n + ": " + abbreviate(line));
        }
      }
    }
    assertThat(lines).as("operator log lines").isPositive();
    assertThat(bad).as("operator log lines that are not a JSON object (%d lines checked)", lines).isEmpty();
  }

  private static String abbreviate(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }
}
