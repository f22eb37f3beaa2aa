package io.safedefaults.microapp;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locations handed to the tests by the build (see the surefire configuration). */
final class TestFiles {
  private TestFiles() {}

  static final String MICROAPPS = "microapps.safedefaults.io-v1.yml";
  static final String POLICIES = "microapppolicies.safedefaults.io-v1.yml";

  static Path generatedCrd() {
    return generatedCrd(MICROAPPS);
  }

  static Path generatedCrd(String file) {
    return Path.of(System.getProperty("generated.crds.dir", "target/classes/META-INF/fabric8")).resolve(file);
  }

  static Path checkedInCrd(String file) {
    return Path.of(System.getProperty("crds.dir", "../crds")).resolve(file);
  }

  static Path repoFile(String relative) {
    Path p = Path.of(System.getProperty("repo.dir", "..")).resolve(relative);
    if (!Files.exists(p)) {
      throw new IllegalStateException("missing " + p.toAbsolutePath());
    }
    return p;
  }
}
