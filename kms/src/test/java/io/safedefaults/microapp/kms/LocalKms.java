package io.safedefaults.microapp.kms;

import com.google.crypto.tink.Aead;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * nsmithuk/local-kms (built by e2e/control-plane/build-local-kms.sh, pinned in versions.env) as a
 * real AWS KMS JSON API on a loopback port, seeded with two AES keys. Not a mock: requests are the
 * ones AWS KMS gets, and local-kms enforces KeyId, EncryptionContext and ciphertext integrity.
 */
public final class LocalKms implements AutoCloseable {
  public static final String REGION = "eu-west-2";
  public static final String ACCOUNT = "111122223333";
  public static final String KEY_A = "bc436485-5092-42b8-92a3-0aa8b93536dc";
  public static final String KEY_B = "2b3c2f6a-6a39-4d1e-9c2e-5f1f4a0d7e11";
  /** local-kms accepts any access key; these merely make the SigV4 path run. */
  public static final Map<String, String> ENV = Map.of("AWS_ACCESS_KEY_ID", "AKIDLOCALKMS", "AWS_SECRET_ACCESS_KEY",
      "local-kms-accepts-any-secret");
  private final Process process;
  private final Path dir;
  public final int port;

  public LocalKms() throws IOException, InterruptedException {
    Path home = Path.of(System.getenv().getOrDefault("KUBE_API_TEST_DIR", System.getProperty("user.home") + "/.kubeapitest"));
    Path bin = home.resolve("bin/local-kms");
    if (!Files.isExecutable(bin)) {
      throw new IllegalStateException(bin + " is missing: run e2e/control-plane/build-local-kms.sh");
    }
    dir = Files.createTempDirectory("local-kms");
    Files.writeString(dir.resolve("seed.yaml"), """
        Keys:
          Symmetric:
            Aes:
              - Metadata:
                  KeyId: %s
                BackingKeys:
                  - 5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7a9
              - Metadata:
                  KeyId: %s
                BackingKeys:
                  - 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
        """.formatted(KEY_A, KEY_B));
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    ProcessBuilder pb = new ProcessBuilder(bin.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("local-kms.log").toFile());
    pb.environment().putAll(Map.of("PORT", Integer.toString(port), "KMS_REGION", REGION, "KMS_ACCOUNT_ID", ACCOUNT,
        "KMS_DATA_PATH", dir.resolve("data").toString(), "KMS_SEED_PATH", dir.resolve("seed.yaml").toString()));
    process = pb.start();
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (true) {
      try (Socket ignored = new Socket()) {
        ignored.connect(new InetSocketAddress("127.0.0.1", port), 200);
        break;
      } catch (IOException e) {
        if (!process.isAlive() || Instant.now().isAfter(deadline)) {
          throw new IllegalStateException("local-kms did not start: " + Files.readString(dir.resolve("local-kms.log")));
        }
        Thread.sleep(100);
      }
    }
  }

  public static String arn(String keyId) {
    return "arn:aws:kms:" + REGION + ":" + ACCOUNT + ":key/" + keyId;
  }

  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /** The key-encryption key the operator builds from {@code --kms-uri aws-kms://<arn>} and {@code --kms-endpoint}. */
  public Kms kms(String keyId) {
    return Kms.fromFlags("aws-kms://" + arn(keyId), endpoint(), null, null);
  }

  public Aead kek(String keyId) {
    return kms(keyId).kek(ENV);
  }

  @Override
  public void close() throws IOException {
    process.destroy();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
