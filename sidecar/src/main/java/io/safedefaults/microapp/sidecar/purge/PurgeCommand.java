package io.safedefaults.microapp.sidecar.purge;

import ch.qos.logback.classic.LoggerContext;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code microapp-sidecar purge --config /etc/microapp-purge/purge.json}: what the app's daily purge
 * CronJob runs (checklist 8). Exit code 0 purged, 1 the purge failed, 2 the configuration cannot be
 * used (with one line on stderr naming the field).
 */
@Command(name = "purge",
    description = "Delete the app's data older than its retention TTL (run by the purge CronJob).")
public final class PurgeCommand implements Callable<Integer> {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
  boolean help;

  @Option(names = "--config", description = "Path of the purge configuration written by the operator.")
  Path config;

  @Option(names = "--termination-log", description = "Where to write the one-line JSON summary "
      + "(default /dev/termination-log, written only if it exists).")
  Path terminationLog;

  @Override
  public Integer call() {
    PurgeOutcome o = PurgeRun.run(config, Clock.systemUTC());
    if (o.exitCode() == PurgeOutcome.BAD_CONFIG) {
      System.err.println("microapp-sidecar purge: " + o.error());
    }
    PurgeAudit.log(o);
    if (terminationLog == null) {
      PurgeAudit.terminationMessage(o, PurgeAudit.DEFAULT_TERMINATION_LOG, false);
    } else {
      PurgeAudit.terminationMessage(o, terminationLog, true);
    }
    // the audit line goes through an asynchronous appender: drain it before the JVM exits
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logging) {
      logging.stop();
    }
    return o.exitCode();
  }
}
