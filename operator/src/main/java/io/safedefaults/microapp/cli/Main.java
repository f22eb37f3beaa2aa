package io.safedefaults.microapp.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The operator's command line: {@code run} the controller; {@code render} and {@code check} apps offline. */
@Command(name = "microapp-operator", mixinStandardHelpOptions = true, version = "microapp-operator 0.1.0",
    description = "Gives every MicroApp safe defaults: sign-in, TLS, rate limits, least privilege.",
    subcommands = {RunCommand.class, RenderCommand.class, CheckCommand.class, ScanCommand.class, SealCommand.class, KeysCommand.class,
        ResealCommand.class, CommandLine.HelpCommand.class})
public final class Main {

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    // One clear line for bad input instead of a stack trace.
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      cmd.getErr().println(cmd.getCommandName() + ": " + e.getMessage());
      return 2;
    });
    return cl;
  }
}
