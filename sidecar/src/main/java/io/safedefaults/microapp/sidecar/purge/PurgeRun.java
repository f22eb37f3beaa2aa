package io.safedefaults.microapp.sidecar.purge;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.function.Function;

/**
 * One purge run (checklist 8): read the configuration, compute the cutoff, purge the one target and
 * say what happened as a {@link PurgeOutcome}. Never throws: every way of ending is an outcome with
 * an exit code, so the job always leaves its audit event.
 */
public final class PurgeRun {
  private PurgeRun() {}

  public static PurgeOutcome run(Path configFile, Clock clock) {
    return run(configFile, clock, PurgeRun::target);
  }

  static PurgeOutcome run(Path configFile, Clock clock, Function<PurgeConfig, PurgeTarget> targets) {
    long start = System.nanoTime();
    PurgeConfig config;
    try {
      if (configFile == null) {
        throw new PurgeConfigException("--config is required: the path of the mounted purge.json");
      }
      config = PurgeConfigLoader.load(configFile);
    } catch (PurgeConfigException e) {
      return new PurgeOutcome(PurgeOutcome.BAD_CONFIG, null, null, null, null, null, millis(start), e.getMessage());
    }
    Instant cutoff = Cutoff.of(clock, config.ttlDays());
    String target = config.target().word();
    String at = Cutoff.format(cutoff);
    try {
      Long deleted = targets.apply(config).purge(cutoff);
      return new PurgeOutcome(PurgeOutcome.OK, target, config.namespace(), config.app(), at, deleted, millis(start), null);
    } catch (PurgeConfigException e) {
      return new PurgeOutcome(PurgeOutcome.BAD_CONFIG, target, config.namespace(), config.app(), at, null,
          millis(start), e.getMessage());
    } catch (PurgeFailedException e) {
      return new PurgeOutcome(PurgeOutcome.FAILED, target, config.namespace(), config.app(), at, e.deleted(),
          millis(start), e.getMessage());
    } catch (RuntimeException e) {
      // the type only: an unexpected message could quote anything, a connection string included
      return new PurgeOutcome(PurgeOutcome.FAILED, target, config.namespace(), config.app(), at, null, millis(start),
          "unexpected error (" + e.getClass().getName() + ")");
    }
  }

  static PurgeTarget target(PurgeConfig c) {
    return switch (c.target()) {
      case HTTP -> new HttpPurge(c.http());
      case POSTGRES -> new PostgresPurge(c.postgres());
      case VOLUME -> new VolumePurge(c.volume());
    };
  }

  private static long millis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
