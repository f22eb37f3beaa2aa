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

  /** kubectl shows printer columns in list order: READY first and AGE last, as the annotations list them. */
  @org.junit.jupiter.api.Test
  void printerColumnsAreInTheOrderTheyAreDeclared() throws Exception {
    for (var kind : java.util.List.of(io.safedefaults.microapp.api.MicroApp.class,
        io.safedefaults.microapp.api.MicroAppPolicy.class)) {
      var declared = java.util.Arrays.stream(kind.getAnnotationsByType(
          io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.class)).map(a -> a.name()).toList();
      String file = kind == io.safedefaults.microapp.api.MicroApp.class ? TestFiles.MICROAPPS : TestFiles.POLICIES;
      var crd = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(
          Files.readString(TestFiles.checkedInCrd(file)),
          io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition.class);
      var columns = crd.getSpec().getVersions().get(0).getAdditionalPrinterColumns().stream()
          .map(c -> c.getName()).toList();
      assertThat(columns).as(file).containsExactlyElementsOf(declared);
      assertThat(columns.get(columns.size() - 1)).isEqualTo("Age");
    }
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

  /**
   * {@code kubectl explain microapp.status.conditions.reason} (and every other field) must tell people
   * what they are reading: each property of the schema, at any depth, carries a description.
   */
  @ParameterizedTest
  @ValueSource(strings = {TestFiles.MICROAPPS, TestFiles.POLICIES})
  void everyFieldHasADescriptionForKubectlExplain(String file) throws Exception {
    var crd = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(
        Files.readString(TestFiles.checkedInCrd(file)),
        io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition.class);
    var root = crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema();
    java.util.List<String> undocumented = new java.util.ArrayList<>();
    java.util.List<String> seen = new java.util.ArrayList<>();
    undescribed(root.getProperties().get("spec"), "spec", undocumented, seen);
    undescribed(root.getProperties().get("status"), "status", undocumented, seen);
    assertThat(seen).as("the walk reached the condition fields").contains("status.conditions[].reason");
    assertThat(undocumented).as(file + ": fields without a description (add @JsonPropertyDescription)").isEmpty();
  }

  private static void undescribed(io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps p, String path,
      java.util.List<String> out, java.util.List<String> seen) {
    seen.add(path);
    if (p.getDescription() == null || p.getDescription().isBlank()) {
      out.add(path);
    }
    if (p.getProperties() != null) {
      p.getProperties().forEach((name, child) -> undescribed(child, path + "." + name, out, seen));
    }
    if (p.getItems() != null && p.getItems().getSchema() != null
        && p.getItems().getSchema().getProperties() != null) {
      p.getItems().getSchema().getProperties()
          .forEach((name, child) -> undescribed(child, path + "[]." + name, out, seen));
    }
    if (p.getAdditionalProperties() != null && p.getAdditionalProperties().getSchema() != null
        && p.getAdditionalProperties().getSchema().getProperties() != null) {
      p.getAdditionalProperties().getSchema().getProperties()
          .forEach((name, child) -> undescribed(child, path + "{}." + name, out, seen));
    }
  }
}
