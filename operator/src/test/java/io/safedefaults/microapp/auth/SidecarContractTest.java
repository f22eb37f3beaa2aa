package io.safedefaults.microapp.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The values both ends of the sidecar contract define: the operator writes them into config.json,
 * the sidecar falls back to its own when a field is absent. Read from the sidecar's source, so
 * changing one end without the other fails here (checklists 2 and 5).
 */
class SidecarContractTest {
  private static final Path CONFIG_LOADER = Path.of(System.getProperty("repo.dir", ".."),
      "sidecar/src/main/java/io/safedefaults/microapp/sidecar/config/ConfigLoader.java");

  @Test
  void theMfaAmrListIsTheSidecarsDefault() throws Exception {
    Matcher m = find("DEFAULT_MFA_AMR\\s*=\\s*List\\.of\\(([^)]*)\\)");
    List<String> sidecars = Arrays.stream(m.group(1).split(",")).map(s -> s.trim().replace("\"", "")).toList();
    assertThat(SidecarConfig.MFA_AMR).isEqualTo(sidecars);
  }

  @Test
  void theHstsValueIsTheSidecarsDefault() throws Exception {
    Matcher m = find("c\\.hsts\\(\\)\\s*==\\s*null\\s*\\?\\s*\"([^\"]+)\"");
    assertThat(SidecarConfig.HSTS).isEqualTo(m.group(1));
  }

  private static Matcher find(String regex) throws Exception {
    assertThat(CONFIG_LOADER).as("the sidecar's ConfigLoader").exists();
    Matcher m = Pattern.compile(regex).matcher(Files.readString(CONFIG_LOADER));
    assertThat(m.find()).as("%s in %s", regex, CONFIG_LOADER).isTrue();
    return m;
  }
}
