package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The operator image carries the chart's JVM options as its default JAVA_TOOL_OPTIONS, so that run
 * outside the chart (docker run, another chart) its heap is bounded by the container's memory as in
 * the chart; the chart's env still replaces it. The two must not drift apart.
 */
class ImageJvmOptionsTest {
  @Test
  void theImageDefaultsAreTheChartsJavaOptions() throws IOException {
    String values = Files.readString(TestFiles.repoFile("helm/microapp-operator/values.yaml"));
    Matcher chart = Pattern.compile("(?m)^  javaOptions: \"([^\"]+)\"$").matcher(values);
    assertThat(chart.find()).as("operator.javaOptions in values.yaml").isTrue();

    String pom = Files.readString(TestFiles.repoFile("operator/pom.xml"));
    Matcher execution = Pattern.compile("<id>container-image</id>.*?<arguments>(.*?)</arguments>", Pattern.DOTALL)
        .matcher(pom);
    assertThat(execution.find()).as("the container-image execution in operator/pom.xml").isTrue();
    List<String> args = new ArrayList<>();
    Matcher arg = Pattern.compile("<argument>(.*?)</argument>", Pattern.DOTALL).matcher(execution.group(1));
    while (arg.find()) {
      args.add(arg.group(1));
    }
    List<String> envs = new ArrayList<>();
    for (int i = 0; i + 1 < args.size(); i++) {
      if (args.get(i).equals("--env")) {
        envs.add(args.get(i + 1));
      }
    }
    assertThat(envs).containsExactly("JAVA_TOOL_OPTIONS=" + chart.group(1));
    // bounded: a share of the container's memory, and an OutOfMemoryError ends the process
    assertThat(chart.group(1)).contains("-XX:MaxRAMPercentage=").contains("-XX:+ExitOnOutOfMemoryError");
  }
}
