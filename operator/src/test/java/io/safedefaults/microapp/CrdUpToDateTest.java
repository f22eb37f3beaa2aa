package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** crds/ is what users apply; it must be exactly what the Java model generates. */
class CrdUpToDateTest {
  @Test
  void checkedInCrdMatchesTheModel() throws Exception {
    String generated = Files.readString(TestFiles.generatedCrd());
    String checkedIn = Files.readString(TestFiles.checkedInCrd());
    assertThat(checkedIn)
        .as("crds/ is stale: run 'mvn -pl operator -Pupdate-crds process-classes' and commit the result")
        .isEqualTo(generated);
  }

  @Test
  void chartShipsTheSameCrd() throws Exception {
    String generated = Files.readString(TestFiles.generatedCrd());
    String inChart = Files.readString(TestFiles.repoFile("helm/microapp-operator/crds/microapps.safedefaults.io-v1.yml"));
    assertThat(inChart)
        .as("the chart's CRD is stale: run 'mvn -pl operator -Pupdate-crds process-classes' and commit the result")
        .isEqualTo(generated);
  }
}
