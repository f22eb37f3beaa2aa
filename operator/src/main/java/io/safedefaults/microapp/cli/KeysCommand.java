package io.safedefaults.microapp.cli;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.safedefaults.microapp.secrets.SealingKeyStore;
import io.safedefaults.microapp.secrets.SealingKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** The cluster's sealing keys: print the public half; back up and restore the private keyset. */
@Command(name = "keys", mixinStandardHelpOptions = true,
    description = "Print the cluster's public sealing keyset (for offline 'seal --public-key').",
    subcommands = {KeysCommand.Export.class, KeysCommand.Import.class})
public final class KeysCommand implements Callable<Integer> {
  @Mixin KeySource keys;
  @Option(names = "--out", description = "Write to this file instead of stdout.") Path out;
  @Spec CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    var pub = keys.publicKeys(null);
    String json = SealingKeys.serializePublic(pub);
    if (out != null) {
      Files.writeString(out, json);
      spec.commandLine().getErr().println("public keyset (primary key " + SealingKeys.primaryKeyId(pub) + ") written to " + out);
    } else {
      spec.commandLine().getOut().println(json);
    }
    spec.commandLine().getOut().flush();
    return 0;
  }

  /** Writes the private keyset to a new file only the caller can read. */
  @Command(name = "export", mixinStandardHelpOptions = true,
      description = "Back up the private sealing keyset to a new file (mode 0600). Store it like a root password.")
  static final class Export implements Callable<Integer> {
    @Mixin KeySource keys;
    @Option(names = "--out", required = true, description = "New file for the private keyset.") Path out;
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      var priv = keys.privateKeys(null);
      Files.createFile(out, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(out, SealingKeys.serializePrivate(priv), StandardOpenOption.TRUNCATE_EXISTING);
      spec.commandLine().getErr().println("private keyset with keys " + SealingKeys.keyIds(priv) + " written to " + out);
      return 0;
    }
  }

  /** Restores a backup into a cluster that has no keys yet; never replaces existing keys. */
  @Command(name = "import", mixinStandardHelpOptions = true,
      description = "Restore a private keyset from 'keys export' into a cluster without keys; the running operator picks it up.")
  static final class Import implements Callable<Integer> {
    @Mixin KeySource keys;
    @Option(names = "--file", required = true, description = "File written by 'keys export'.") Path file;
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      var priv = keys.privateKeys(file);
      try (KubernetesClient client = new KubernetesClientBuilder().build()) {
        Secret existing = client.secrets().inNamespace(keys.keysNamespace).withName(SealingKeyStore.SECRET).get();
        if (existing != null) {
          throw new IllegalArgumentException("Secret " + keys.keysNamespace + "/" + SealingKeyStore.SECRET
              + " already exists; import never replaces keys (delete it first if you really mean to)");
        }
        var kms = keys.kms.kms();
        Secret restored;
        try {
          restored = kms == null ? SealingKeyStore.secretFor(priv, Instant.now(), null)
              : SealingKeyStore.secretFor(priv, Instant.now(), null, keys.keysNamespace, kms.kek(System.getenv()),
                  kms.uri().name());
        } catch (java.security.GeneralSecurityException e) {
          throw new IllegalArgumentException("cannot wrap the keyset under " + kms.uri().name() + ": " + e.getMessage()
              + "; nothing was written");
        }
        client.secrets().inNamespace(keys.keysNamespace).resource(restored).create();
      }
      spec.commandLine().getErr().println("restored keys " + SealingKeys.keyIds(priv) + " into "
          + keys.keysNamespace + "/" + SealingKeyStore.SECRET + "; the running operator picks them up");
      return 0;
    }
  }
}
