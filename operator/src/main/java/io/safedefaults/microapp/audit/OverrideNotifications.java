package io.safedefaults.microapp.audit;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import java.util.Map;

/** Told once each time an app starts relaxing defaults (DefaultsRelaxed turns True), never on a resync. */
@FunctionalInterface
public interface OverrideNotifications {
  OverrideNotifications NONE = (namespace, app, relaxed) -> { };

  /** @param relaxed the settings relaxed and their justifications */
  void relaxed(String namespace, String app, Map<Setting, String> relaxed);
}
