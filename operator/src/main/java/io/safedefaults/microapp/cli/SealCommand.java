package io.safedefaults.microapp.cli;

import io.safedefaults.microapp.secrets.SealedValue;
import io.safedefaults.microapp.secrets.SealingKeys;
import io.safedefaults.microapp.secrets.Sealer;
import io.safedefaults.microapp.secrets.Unsealer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Seals one value read from standard input (never from the command line, where it would land in
 * shell history and process listings) for one app, or for a whole namespace when asked.
 */
@Command(name = "seal", mixinStandardHelpOptions = true,
    description = "Seal a value from stdin for an app (or a namespace) with the cluster's public key.")
public final class SealCommand implements Callable<Integer> {
  private static final Pattern NAME = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]{0,127}$");
  private static final Pattern DNS = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

  @Option(names = {"-n", "--namespace"}, required = true, description = "Namespace of the app.")
  String namespace;

  @Option(names = "--app", description = "The MicroApp the value is for (required unless --namespace-wide).")
  String app;

  @Option(names = "--name", required = true,
      description = "Name of the value: a spec.secrets.sealed key such as MAPS_API_KEY, or auth.clientSecret.")
  String name;

  @Option(names = "--namespace-wide", description = "Let any app of the namespace open the value.")
  boolean namespaceWide;

  @Option(names = "--public-key", description = "Public keyset file from 'keys' (offline); default: the cluster's.")
  Path publicKey;

  @Option(names = "--raw", description = "Print only the sealed value.")
  boolean raw;

  @Option(names = "--keep-trailing-newline", description = "Keep a final newline of the input (dropped by default).")
  boolean keepNewline;

  @Mixin KeySource keys;

  @Spec CommandSpec spec;

  InputStream in = System.in;

  @Override
  public Integer call() throws IOException {
    if (!DNS.matcher(namespace).matches()) {
      throw new IllegalArgumentException("--namespace '" + namespace + "' is not a namespace name");
    }
    if (!namespaceWide && (app == null || !DNS.matcher(app).matches())) {
      throw new IllegalArgumentException("--app must name the MicroApp (or pass --namespace-wide)");
    }
    if (!NAME.matcher(name).matches() && !Unsealer.CLIENT_SECRET.equals(name)) {
      throw new IllegalArgumentException("--name '" + name + "' must be an environment variable name such as"
          + " MAPS_API_KEY, or auth.clientSecret");
    }
    byte[] value = in.readAllBytes();
    if (!keepNewline && value.length > 0 && value[value.length - 1] == '\n') {
      value = Arrays.copyOf(value, value.length - (value.length > 1 && value[value.length - 2] == '\r' ? 2 : 1));
    }
    if (value.length == 0) {
      throw new IllegalArgumentException("nothing to seal on standard input (e.g. printf '%s' \"$VALUE\" | microapp-operator seal ...)");
    }
    SealedValue.Scope scope = namespaceWide ? SealedValue.Scope.NAMESPACE : SealedValue.Scope.APP;
    var pub = keys.publicKeys(publicKey);
    SealedValue sealed = new Sealer(pub).seal(value, scope, namespace, app, name);
    Arrays.fill(value, (byte) 0);
    PrintWriter out = spec.commandLine().getOut();
    if (raw) {
      out.println(sealed.text());
    } else {
      out.println("# sealed for " + SealedValue.describe(scope, namespace, app, name) + " with key "
          + SealingKeys.primaryKeyId(pub));
      if (Unsealer.CLIENT_SECRET.equals(name)) {
        out.println("clientSecret: {sealed: \"" + sealed.text() + "\"}   # under spec.auth");
      } else {
        out.println(name + ": \"" + sealed.text() + "\"   # under spec.secrets.sealed");
      }
    }
    out.flush();
    return 0;
  }
}
