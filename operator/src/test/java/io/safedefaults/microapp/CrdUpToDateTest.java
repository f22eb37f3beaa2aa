package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** crds/ is what users apply; it must be exactly what the Java model generates. */
class CrdUpToDateTest {
  @ParameterizedTest
  @ValueSource(strings = {TestFiles.MICROAPPS, TestFiles.POLICIES})
  void checkedInCrdMatchesTheModel(String file) throws Exception {
    String generated = Files.readString(TestFiles.generatedCrd(file));
    String checkedIn = Files.readString(TestFiles.checkedInCrd(file));
    assertThat(checkedIn)
        .as("crds/" + file + " is stale: run 'mvn -pl operator -Pupdate-crds process-classes' and commit the result")
        .isEqualTo(generated);
  }

  @ParameterizedTest
  @ValueSource(strings = {TestFiles.MICROAPPS, TestFiles.POLICIES})
  void chartShipsTheSameCrd(String file) throws Exception {
    String generated = Files.readString(TestFiles.generatedCrd(file));
    String inChart = Files.readString(TestFiles.repoFile("helm/microapp-operator/crds/" + file));
    assertThat(inChart)
        .as("the chart's CRD " + file + " is stale: run 'mvn -pl operator -Pupdate-crds process-classes' and commit the result")
        .isEqualTo(generated);
  }
}
