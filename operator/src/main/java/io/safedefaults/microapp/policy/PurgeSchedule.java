package io.safedefaults.microapp.policy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * When an app's daily purge runs: a minute of the day derived from its namespace/name, so a
 * cluster's purges spread over the day instead of all starting at midnight, and an app keeps its
 * slot across operator restarts.
 */
public final class PurgeSchedule {
  private PurgeSchedule() {}

  public static int minuteOfDay(String namespace, String name) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest((namespace + "/" + name).getBytes(StandardCharsets.UTF_8));
      int v = ((d[0] & 0xff) << 16) | ((d[1] & 0xff) << 8) | (d[2] & 0xff);
      return v % (24 * 60);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Cron expression, evaluated in UTC (the CronJob sets timeZone: Etc/UTC). */
  public static String cron(String namespace, String name) {
    int m = minuteOfDay(namespace, name);
    return (m % 60) + " " + (m / 60) + " * * *";
  }
}
