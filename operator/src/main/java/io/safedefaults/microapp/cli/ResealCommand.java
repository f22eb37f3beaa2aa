package io.safedefaults.microapp.cli;

import io.safedefaults.microapp.api.MicroApp;
import io.safedefaults.microapp.secrets.SealedValue;
import io.safedefaults.microapp.secrets.SealedValueDecryptor;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.SealingKeys;
import io.safedefaults.microapp.secrets.Unsealer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Re-encrypts a manifest's sealed values to the current primary key, keeping each value's scope
 * and the rest of the file byte for byte. Opening values needs the private keyset: from the
 * cluster (you must be allowed to read the keys Secret) or from a 'keys export' file offline.
 */
@Command(name = "reseal", mixinStandardHelpOptions = true,
    description = "Re-seal a manifest's values with the current key; prints the updated manifest.")
public final class ResealCommand implements Callable<Integer> {
  @Option(names = {"-f", "--file"}, required = true, description = "MicroApp manifest.") Path file;
  @Option(names = "--private-key", description = "Private keyset from 'keys export' (offline).") Path privateKey;
  @Mixin KeySource keys;
  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    String text = Files.readString(file);
    var priv = keys.privateKeys(privateKey);
    SealedValueDecryptor decryptor = new SealedValueDecryptor(priv);
    Sealer sealer = new Sealer(SealingKeys.publicKeys(priv));
    int resealed = 0;
    for (MicroApp app : RenderCommand.read(file)) {
      String ns = app.getMetadata().getNamespace();
      String name = app.getMetadata().getName();
      Map<String, String> values = new LinkedHashMap<>();
      if (app.getSpec().getSecrets() != null && app.getSpec().getSecrets().getSealed() != null) {
        values.putAll(new TreeMap<>(app.getSpec().getSecrets().getSealed()));
      }
      if (app.getSpec().getAuth() != null && app.getSpec().getAuth().getClientSecret() != null) {
        values.put(Unsealer.CLIENT_SECRET, app.getSpec().getAuth().getClientSecret().getSealed());
      }
      for (var e : values.entrySet()) {
        SealedValue old = SealedValue.parse(e.getValue());
        if (old.keyId() == decryptor.primaryKeyId()) {
          continue;
        }
        byte[] plain;
        try {
          plain = decryptor.open(e.getValue(), ns, name, e.getKey());
        } catch (SealedValueDecryptor.UnsealException ex) {
          throw new IllegalArgumentException(ns + "/" + name + " " + e.getKey() + " " + ex.getMessage());
        }
        String fresh = sealer.seal(plain, old.scope(), ns, name, e.getKey()).text();
        Arrays.fill(plain, (byte) 0);
        text = text.replace(e.getValue(), fresh);
        resealed++;
      }
    }
    spec.commandLine().getOut().print(text);
    spec.commandLine().getOut().flush();
    spec.commandLine().getErr().println(resealed + " value(s) resealed with key " + decryptor.primaryKeyId());
    return 0;
  }
}
