package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.cli.PolicyOptions;
import io.safedefaults.microapp.cli.RunCommand;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Option;

/**
 * The README's "Configuration reference" table and the flags of {@code run} stay in step: every
 * flag has a row, and a flag read from an environment variable names that variable and its
 * default in its row.
 */
class ConfigurationReferenceTest {
  private static final Pattern ENV = Pattern.compile("\\$\\{env:([A-Z0-9_]+)");

  @Test
  void everyFlagOfRunHasARowNamingItsEnvironmentVariable() throws Exception {
    List<String> rows = configurationRows();
    assertThat(rows).as("rows of the README's configuration table").isNotEmpty();
    List<Field> options = new ArrayList<>(List.of(PolicyOptions.class.getDeclaredFields()));
    options.addAll(List.of(RunCommand.class.getDeclaredFields()));
    options.addAll(List.of(io.safedefaults.microapp.cli.KmsOptions.class.getDeclaredFields()));
    options.addAll(List.of(io.safedefaults.microapp.cli.SessionKmsOptions.class.getDeclaredFields()));
    int checked = 0;
    for (Field f : options) {
      Option o = f.getAnnotation(Option.class);
      if (o == null) {
        continue;
      }
      String flag = o.names()[0];
      String cell = "`" + flag + "`";
      String row = rows.stream().filter(r -> firstCell(r).contains(cell)).findFirst().orElse(null);
      assertThat(row).as("README configuration row for " + flag).isNotNull();
      Matcher env = ENV.matcher(o.defaultValue());
      if (!o.defaultValue().isEmpty() && !o.defaultValue().startsWith("__") && !o.defaultValue().contains("${")) {
        assertThat(row).as("README row of " + flag + " gives its default").contains("`" + o.defaultValue() + "`");
      }
      if (env.find()) {
        assertThat(row).as("README row of " + flag + " names its variable").contains("`" + env.group(1) + "`");
        int dflt = o.defaultValue().indexOf(":-");
        if (dflt > 0) {
          String value = o.defaultValue().substring(dflt + 2, o.defaultValue().length() - 1);
          assertThat(row).as("README row of " + flag + " gives its default").contains("`" + value + "`");
        }
      }
      checked++;
    }
    assertThat(checked).isGreaterThan(15);
  }

  private static List<String> configurationRows() throws Exception {
    List<String> lines = Files.readAllLines(TestFiles.repoFile("README.md"));
    int start = lines.indexOf("## Configuration reference");
    assertThat(start).as("README section 'Configuration reference'").isNotNegative();
    List<String> rows = new ArrayList<>();
    for (String line : lines.subList(start + 1, lines.size())) {
      if (line.startsWith("## ")) {
        break;
      }
      if (line.startsWith("| `")) {
        rows.add(line);
      }
    }
    return rows;
  }

  private static String firstCell(String row) {
    String[] cells = row.split("\\|");
    return cells.length > 1 ? cells[1] : "";
  }
}
