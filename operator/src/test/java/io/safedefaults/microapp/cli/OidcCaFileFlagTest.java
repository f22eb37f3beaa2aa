package io.safedefaults.microapp.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * --oidc-ca-file is read once at start with the sidecar's rules: a bundle no sidecar would accept
 * stops the operator with one line naming the flag, instead of every app's pods failing later.
 */
class OidcCaFileFlagTest {
  static final Path FIXTURES = Path.of("src/test/resources/oidc-ca");
  static final Instant NOW = Instant.parse("2026-12-01T00:00:00Z");
  @TempDir Path dir;

  static String fixture(String name) throws Exception {
    return Files.readString(FIXTURES.resolve(name + ".pem"));
  }

  @Test
  void unsetOrBlankMeansTheJvmDefaults() {
    assertThat(PolicyOptions.oidcCaBundle(null, NOW)).isNull();
    assertThat(PolicyOptions.oidcCaBundle("  ", NOW)).isNull();
  }

  @Test
  void aBundleIsWrittenCanonicallySoOnlyCertificatesRollPods() throws Exception {
    String root = fixture("acme-test-root-ca");
    String second = fixture("acme-second-root-ca");
    Path messy = Files.writeString(dir.resolve("bundle.pem"), "# Acme roots\r\nsubject=CN = Acme Test Root CA\r\n"
        + root.replace("\n", "\r\n") + "\r\n\r\n# and the second one\r\n" + second.replace("\n", "\r\n"));
    assertThat(PolicyOptions.oidcCaBundle(messy.toString(), NOW)).isEqualTo(root + second);
    assertThat(PolicyOptions.oidcCaBundle(FIXTURES.resolve("acme-test-root-ca.pem").toString(), NOW)).isEqualTo(root);
  }

  static Stream<Arguments> badBundles() {
    return Stream.of(
        Arguments.of("absent.pem", null, "cannot be read (NoSuchFileException); give the path of a PEM file"),
        Arguments.of("empty.pem", "", "holds no PEM certificate"),
        Arguments.of("cut.pem", "CUT", "PEM block 1 has no END CERTIFICATE line"),
        Arguments.of("key.pem", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n",
            "PEM block 1 is labelled EC PRIVATE KEY, not CERTIFICATE"),
        Arguments.of("provider.pem", "provider-certificate",
            "certificate 1 is not a CA certificate (no basicConstraints CA:TRUE)"),
        Arguments.of("expired.pem", "expired-ca", "certificate 1 expired on 2021-01-01T"),
        Arguments.of("second-expired.pem", "acme-test-root-ca+expired-ca", "certificate 2 expired on 2021-01-01T"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badBundles")
  void aBadBundleIsRefusedWithOneLineNamingTheFlag(String name, String content, String expected) throws Exception {
    Path file = dir.resolve(name);
    if (content != null) {
      String text = switch (content) {
        case "CUT" -> fixture("acme-test-root-ca").substring(0, 300);
        case "provider-certificate", "expired-ca" -> fixture(content);
        case "acme-test-root-ca+expired-ca" -> fixture("acme-test-root-ca") + fixture("expired-ca");
        default -> content;
      };
      Files.writeString(file, text);
    }
    assertThatThrownBy(() -> PolicyOptions.oidcCaBundle(file.toString(), NOW))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--oidc-ca-file " + file + " ")
        .hasMessageContaining(expected)
        .satisfies(e -> {
          assertThat(e.getMessage()).doesNotContain("\n");
          assertThat(e.getMessage()).as("no file contents in the message").doesNotContain("MII");
        });
  }
}
