package io.safedefaults.microapp.sidecar;

import io.safedefaults.microapp.sidecar.config.ConfigException;
import io.safedefaults.microapp.sidecar.config.ConfigLoader;
import io.safedefaults.microapp.sidecar.config.SidecarConfig;
import io.safedefaults.microapp.sidecar.purge.PurgeCommand;
import io.safedefaults.microapp.sidecar.server.Sidecar;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code microapp-sidecar proxy --config FILE} and {@code microapp-sidecar purge --config FILE}. */
@Command(name = "microapp-sidecar", mixinStandardHelpOptions = true, version = "microapp-sidecar 0.1.0",
    description = "Sign-in, MFA, rate limits and secure headers in front of a micro-app.",
    subcommands = {Main.Proxy.class, PurgeCommand.class})
public final class Main implements Runnable {
  /** Exit code for a configuration or environment the sidecar refuses to start with. */
  public static final int EXIT_CONFIG = 2;

  public static void main(String[] args) {
    // Vert.x logs through SLF4J/Logback, so its few lines are JSON like ours
    System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.err);
  }

  @Command(name = "proxy", description = "Run the auth proxy in front of the app.")
  static final class Proxy implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "Path of the JSON configuration file.")
    Path config;

    @Override
    public Integer call() throws InterruptedException {
      Sidecar sidecar;
      try {
        SidecarConfig c = ConfigLoader.load(config);
        sidecar = Sidecar.start(c);
      } catch (ConfigException e) {
        // one line a person can act on; the rest of the log is JSON on stdout
        System.err.println("microapp-sidecar: " + e.getMessage());
        return EXIT_CONFIG;
      }
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        sidecar.close();
        stopped.countDown();
      }, "shutdown"));
      stopped.await();
      return 0;
    }
  }
}
