package io.safedefaults.microapp.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.safedefaults.microapp.sidecar.support.TestCa;
import io.safedefaults.microapp.sidecar.support.TestCa.Kind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.stream.Stream;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * oidc.caFile is read at start, strictly: every way a bundle can be unusable stops the sidecar with
 * one line that names the field, the file and the fix, and never echoes what the file holds.
 */
class ProviderCaConfigTest {
  static final Instant NOW = Instant.now();
  static TestCa ca;
  static TestCa other;
  @TempDir static Path dir;

  @BeforeAll
  static void makeCas() {
    ca = TestCa.root("Acme Test Root CA");
    other = TestCa.root("Acme Second Root CA");
  }

  private static String config(String caFileJson) {
    return ConfigLoaderTest.OPERATOR_EXAMPLE.replace("\"groupsClaim\": \"groups\"}",
        "\"groupsClaim\": \"groups\", \"caFile\": " + caFileJson + "}");
  }

  private static Path file(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  private static SidecarConfig load(Path file) {
    return ConfigLoader.parse(config("\"" + file + "\""));
  }

  /** The one-line refusal: names oidc.caFile and the file, says what is wrong, shows no PEM. */
  private static AbstractThrowableAssert<?, ?> refused(Path file, String content) {
    return assertThatThrownBy(() -> load(file))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("field 'oidc.caFile': " + file + " ")
        .satisfies(e -> {
          assertThat(e.getMessage()).doesNotContain("\n");
          for (String line : content.split("\n")) {
            if (line.length() > 8 && !line.startsWith("-----") && !line.startsWith("#")) {
              assertThat(e.getMessage()).as("the file's contents stay out of the message").doesNotContain(line);
            }
          }
        });
  }

  @Test
  void absentMeansTheJvmDefaultsAsBefore() {
    assertThat(ConfigLoader.parse(ConfigLoaderTest.OPERATOR_EXAMPLE).oidc().caFile()).isNull();
    assertThat(ConfigLoader.parse(config("null")).oidc().caFile()).isNull();
  }

  @Test
  void aBundleIsReadOnceAtStartWithEveryCertificate() throws Exception {
    Path bundle = file("bundle.pem", "Acme roots, from the platform team\n" + ca.pem() + "\n" + other.pem());
    SidecarConfig.ProviderCa loaded = load(bundle).oidc().caFile();
    assertThat(loaded.file()).isEqualTo(bundle.toString());
    assertThat(loaded.certificates()).containsExactly(ca.certificate(), other.certificate());
  }

  @Test
  void theOperatorsRenderingWithAProviderCaIsAccepted() throws Exception {
    // both ends of the contract: the operator's golden output for --oidc-ca-file
    Path golden = Path.of("..", "operator", "src", "test", "resources", "golden", "where2eat-oidc-ca.yaml");
    java.util.List<String> yaml = Files.readAllLines(golden);
    String json = ConfigLoaderTest.configJsonFrom(yaml);
    assertThat(json).contains("\"caFile\" : \"/etc/microapp-sidecar/oidc-ca.pem\"");
    // the ConfigMap's second key, where the pod would mount it
    Path pem = file("oidc-ca.pem", ConfigLoaderTest.blockFrom(yaml, "oidc-ca.pem"));
    SidecarConfig c = ConfigLoader.parse(json.replace("/etc/microapp-sidecar/oidc-ca.pem", pem.toString()));
    assertThat(c.oidc().caFile().certificates()).singleElement()
        .satisfies(cert -> assertThat(cert.getSubjectX500Principal().getName()).contains("CN=Acme Test Root CA"));
  }

  @Test
  void windowsLineEndingsAndOpensslTextAroundTheBlocksAreFine() throws Exception {
    String withText = "Bag Attributes\r\n    friendlyName: acme\r\nsubject=CN = Acme Test Root CA\r\n"
        + ca.pem().replace("\n", "\r\n");
    assertThat(load(file("crlf.pem", withText)).oidc().caFile().certificates()).hasSize(1);
  }

  @Test
  void anUnreadableFileIsRefused() throws Exception {
    Path missing = dir.resolve("absent.pem");
    refused(missing, "").hasMessageContaining("cannot be read (NoSuchFileException)")
        .hasMessageContaining("mount the PEM bundle of the provider's CA there");
    Path directory = Files.createDirectories(dir.resolve("a-directory.pem"));
    refused(directory, "").hasMessageContaining("cannot be read");
  }

  @Test
  void aFileWithoutCertificatesIsRefused() throws Exception {
    refused(file("empty.pem", ""), "").hasMessageContaining("holds no PEM certificate");
    refused(file("text.pem", "acme ca goes here\n"), "").hasMessageContaining("holds no PEM certificate");
    // DER instead of PEM: no BEGIN line anywhere
    Path der = dir.resolve("ca.der");
    Files.write(der, ca.certificate().getEncoded());
    assertThatThrownBy(() -> load(der)).hasMessageContaining("holds no PEM certificate");
  }

  @Test
  void anOversizedFileIsRefused() throws Exception {
    String big = "x".repeat(CaBundle.MAX_BYTES) + "\n" + ca.pem();
    refused(file("huge.pem", big), "").hasMessageContaining("is larger than 512 KiB");
  }

  static Stream<Arguments> malformedBlocks() {
    String pem = TestCa.pem(TestCa.certificate(Kind.CA, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(9))));
    String[] lines = pem.split("\n");
    String body = String.join("\n", java.util.Arrays.copyOfRange(lines, 1, lines.length - 1));
    String garbage = Base64.getMimeEncoder().encodeToString("not a certificate at all, just bytes".getBytes(
        StandardCharsets.US_ASCII));
    return Stream.of(
        Arguments.of("cut short", pem.substring(0, pem.length() / 2), "has no END CERTIFICATE line"),
        Arguments.of("END without BEGIN", body + "\n-----END CERTIFICATE-----\n", "END line without a BEGIN line"),
        Arguments.of("a second BEGIN inside", "-----BEGIN CERTIFICATE-----\n" + pem, "no matching END CERTIFICATE line"),
        Arguments.of("END of another type", pem.replace("END CERTIFICATE", "END PUBLIC KEY"),
            "no matching END CERTIFICATE line"),
        Arguments.of("a character outside base64", pem.replace(lines[2], lines[2].substring(0, 10) + "*"
            + lines[2].substring(11)), "a line that is not base64"),
        Arguments.of("RFC 1421 headers", pem.replace(lines[0] + "\n", lines[0] + "\nProc-Type: 4,ENCRYPTED\n"),
            "a line that is not base64"),
        Arguments.of("bad padding", pem.replace(lines[1], lines[1].substring(0, 63) + "="), "is not valid base64"),
        Arguments.of("an empty block", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "is not valid base64"),
        Arguments.of("base64 of something else", "-----BEGIN CERTIFICATE-----\n" + garbage + "\n-----END CERTIFICATE-----\n",
            "certificate 1 is not a valid X.509 certificate"),
        Arguments.of("bytes after the certificate", "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder()
            .encodeToString(concat(derOf(pem), new byte[] {0, 0, 0, 0})) + "\n-----END CERTIFICATE-----\n",
            "certificate 1 is not a valid X.509 certificate"),
        Arguments.of("a private key", ca.pem() + "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
            + "-----END PRIVATE KEY-----\n", "PEM block 2 is labelled PRIVATE KEY, not CERTIFICATE; the bundle holds CA"
            + " certificates only (never a key: remove it)"),
        Arguments.of("an OpenSSL trusted certificate", pem.replace("CERTIFICATE", "TRUSTED CERTIFICATE"),
            "PEM block 1 is labelled TRUSTED CERTIFICATE, not CERTIFICATE"),
        Arguments.of("a good block, then a broken one", ca.pem() + pem.substring(0, 100), "PEM block 2 has no END"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedBlocks")
  void aMalformedPemBlockIsRefused(String name, String content, String expected) throws Exception {
    refused(file(name.replace(' ', '-') + ".pem", content), content).hasMessageContaining(expected);
  }

  static Stream<Arguments> certificatesThatCannotBeTrustAnchors() {
    Instant yesterday = NOW.minus(Duration.ofDays(1));
    Instant nextYear = NOW.plus(Duration.ofDays(365));
    return Stream.of(
        Arguments.of("a server certificate", TestCa.certificate(Kind.SERVER, yesterday, nextYear),
            "certificate 1 is not a CA certificate (no basicConstraints CA:TRUE): the bundle must hold the CA that"
                + " signed the provider's certificate, not the provider's own certificate"),
        Arguments.of("CA:FALSE", TestCa.certificate(Kind.NOT_CA, yesterday, nextYear), "is not a CA certificate"),
        Arguments.of("a version 1 certificate", TestCa.certificate(Kind.V1, yesterday, nextYear),
            "is not a CA certificate (no basicConstraints CA:TRUE)"),
        Arguments.of("a CA key that may not sign certificates",
            TestCa.certificate(Kind.CA_WITHOUT_CERT_SIGN, yesterday, nextYear), "its key usage lacks keyCertSign"),
        Arguments.of("an expired CA", TestCa.certificate(Kind.CA, NOW.minus(Duration.ofDays(400)),
            NOW.minus(Duration.ofDays(35))), "expired on "),
        Arguments.of("a CA not valid yet", TestCa.certificate(Kind.CA, NOW.plus(Duration.ofDays(2)), nextYear),
            "is not valid before "));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("certificatesThatCannotBeTrustAnchors")
  void aCertificateThatCannotVouchForTheProviderIsRefused(String name, java.security.cert.X509Certificate cert,
      String expected) throws Exception {
    String content = TestCa.pem(cert);
    refused(file(name.replace(' ', '-') + ".pem", content), content).hasMessageContaining(expected);
    // also as the second certificate of a bundle: the number says which one to replace
    String bundle = ca.pem() + content;
    refused(file(name.replace(' ', '-') + "-in-bundle.pem", bundle), bundle)
        .hasMessageContaining(expected.replace("certificate 1 ", "certificate 2 "));
  }

  @Test
  void anExpiredCaNamesTheDateSoThePersonKnowsWhichOne() throws Exception {
    Instant notAfter = Instant.parse("2024-03-01T00:00:00Z");
    String content = TestCa.pem(TestCa.certificate(Kind.CA, notAfter.minus(Duration.ofDays(365)), notAfter));
    refused(file("expired-2024.pem", content), content)
        .hasMessageEndingWith("certificate 1 expired on 2024-03-01T00:00:00Z; replace it with the CA's current certificate");
  }

  @Test
  void theFieldMustBeAPath() {
    assertThatThrownBy(() -> ConfigLoader.parse(config("\"\"")))
        .hasMessageStartingWith("field 'oidc.caFile' must be the path of a PEM file");
    assertThatThrownBy(() -> ConfigLoader.parse(config("42"))).hasMessageStartingWith("field 'oidc.caFile'")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    assertThatThrownBy(() -> ConfigLoader.parse(config("{\"file\": \"/x\"}"))).hasMessageStartingWith("field 'oidc.caFile'");
  }

  private static byte[] derOf(String pem) {
    return Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
