package io.safedefaults.microapp.secrets;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.crypto.tink.KeysetHandle;
import io.safedefaults.microapp.cli.Main;
import io.safedefaults.microapp.secrets.SealedValue.Scope;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** reseal offline, with a private keyset from 'keys export': old values move to the current key. */
class ResealCommandTest {

  @Test
  void resealMovesOldValuesToTheCurrentKeyAndKeepsTheRestOfTheFile(@TempDir Path dir) throws Exception {
    KeysetHandle v1 = SealingKeys.generate();
    String old = new Sealer(SealingKeys.publicKeys(v1)).seal(bytes("maps"), Scope.APP, "team-food", "where2eat", "MAPS").text();
    String oldNs = new Sealer(SealingKeys.publicKeys(v1)).seal(bytes("smtp"), Scope.NAMESPACE, "team-food", null, "SMTP").text();
    KeysetHandle v2 = SealingKeys.rotate(v1);
    String current = new Sealer(SealingKeys.publicKeys(v2)).seal(bytes("new"), Scope.APP, "team-food", "where2eat", "NEW").text();
    Path keys = dir.resolve("keys.json");
    Files.writeString(keys, SealingKeys.serializePrivate(v2));
    Path manifest = dir.resolve("app.yaml");
    String text = """
        # our app, reviewed by the security team
        apiVersion: safedefaults.io/v1alpha1
        kind: MicroApp
        metadata: {name: where2eat, namespace: team-food}
        spec:
          image: img:1
          secrets:
            sealed:
              MAPS: "%s"
              SMTP: "%s"
              NEW: "%s"
        """.formatted(old, oldNs, current);
    Files.writeString(manifest, text);

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute("reseal", "-f", manifest.toString(), "--private-key", keys.toString());

    assertThat(code).as(err.toString()).isZero();
    assertThat(err.toString()).contains("2 value(s) resealed with key " + SealingKeys.primaryKeyId(v2));
    String result = out.toString();
    assertThat(result).startsWith("# our app, reviewed by the security team").doesNotContain(old).doesNotContain(oldNs)
        .contains(current);
    SealedValueDecryptor d = new SealedValueDecryptor(v2);
    String maps = result.lines().filter(l -> l.contains("MAPS:")).findFirst().orElseThrow().replaceAll(".*\"(.*)\".*", "$1");
    String smtp = result.lines().filter(l -> l.contains("SMTP:")).findFirst().orElseThrow().replaceAll(".*\"(.*)\".*", "$1");
    assertThat(SealedValue.parse(maps).keyId()).isEqualTo(SealingKeys.primaryKeyId(v2));
    assertThat(d.open(maps, "team-food", "where2eat", "MAPS")).isEqualTo(bytes("maps"));
    assertThat(smtp).as("scope kept").startsWith("v1:ns:");
    assertThat(d.open(smtp, "team-food", "landing", "SMTP")).isEqualTo(bytes("smtp"));
  }

  @Test
  void sealRefusesArgumentsThatWouldBindTheWrongScope(@TempDir Path dir) throws Exception {
    Path pub = dir.resolve("pub.json");
    Files.writeString(pub, SealingKeys.serializePublic(SealingKeys.publicKeys(SealingKeys.generate())));
    StringWriter err = new StringWriter();
    var cl = Main.commandLine();
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("seal", "-n", "team-food", "--name", "MAPS", "--public-key", pub.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("--app must name the MicroApp (or pass --namespace-wide)");
    assertThat(cl.execute("seal", "-n", "team-food", "--app", "x", "--name", "bad-name", "--public-key", pub.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--name 'bad-name' must be an environment variable name");
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
