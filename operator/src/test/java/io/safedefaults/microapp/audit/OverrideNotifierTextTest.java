package io.safedefaults.microapp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.safedefaults.microapp.api.DefaultOverride.Setting;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The notification's text: app, settings and justifications, one line each, no e-mail address in any spelling. */
class OverrideNotifierTextTest {

  @Test
  void addressesInJustificationsNeverReachTheMessage() {
    Random random = new Random(18);
    List<String> locals = List.of("ops", "chef.ops", "a+tag", "first_last", "x-y", "ALL.CAPS", "n0.1");
    List<String> domains = List.of("example.com", "sub.example.co.uk", "EXAMPLE.ORG", "localhost", "xn--bcher-kva.example");
    List<String> wrappers = List.of("%s", "<%s>", "(%s)", "\"%s\"", "'%s'", "mailto:%s", "%s,", "%s;", "[%s]");
    for (int i = 0; i < 300; i++) {
      String address = locals.get(random.nextInt(locals.size())) + "@" + domains.get(random.nextInt(domains.size()));
      String wrapped = String.format(wrappers.get(random.nextInt(wrappers.size())), address);
      String why = "public page, no personal data; questions to " + wrapped + " please";
      Map<Setting, String> relaxed = new EnumMap<>(Setting.class);
      relaxed.put(Setting.VISIBILITY, why);
      String text = OverrideNotifier.text("team-food", "landing", relaxed);
      assertThat(text).as(why).doesNotContain(address).doesNotContain("@").contains("[address removed]")
          .contains("team-food/landing", "visibility (\"public page, no personal data");
    }
  }

  @Test
  void justificationsAreOneShortLine() {
    Map<Setting, String> relaxed = new EnumMap<>(Setting.class);
    relaxed.put(Setting.RETENTION, "static page\nstores nothing\r\n\u2028" + "x".repeat(500));
    relaxed.put(Setting.VISIBILITY, "a \"quoted\" reason for a public page");
    String text = OverrideNotifier.text("ns", "app", relaxed);
    assertThat(text).doesNotContain("\n", "\r", "\u2028").contains("visibility (\"a 'quoted' reason")
        .contains("retention (\"static page stores nothing x").contains("...");
    assertThat(text.length()).isLessThan(700);
  }
}
