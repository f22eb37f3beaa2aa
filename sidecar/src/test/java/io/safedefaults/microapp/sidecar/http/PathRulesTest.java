package io.safedefaults.microapp.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.MultiMap;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The adminPaths semantics the operator documents, and whose X-Forwarded-For is believed. */
class PathRulesTest {

  @Test
  void doubleStarCoversTheDirectoryItselfAndEverythingBelow() {
    PathPattern admin = PathPattern.compile("/admin/**");
    assertThat(List.of("/admin", "/admin/", "/admin/users", "/admin/a/b/c", "/ADMIN/x")).allMatch(admin::matches);
    assertThat(List.of("/", "/administrator", "/adminx/y", "/public/admin")).noneMatch(admin::matches);
  }

  @Test
  void aPlainPathMatchesExactlyIgnoringCaseAndATrailingSlash() {
    PathPattern export = PathPattern.compile("/export");
    assertThat(List.of("/export", "/export/", "/Export")).allMatch(export::matches);
    assertThat(List.of("/export/all", "/exports", "/ex")).noneMatch(export::matches);
    PathPattern oneSegment = PathPattern.compile("/teams/*/settings");
    assertThat(oneSegment.matches("/teams/food/settings")).isTrue();
    assertThat(oneSegment.matches("/teams/food/x/settings")).isFalse();
  }

  @Test
  void patternsMustBeWrittenNormalised() {
    for (String bad : List.of("admin", "/admin/../x", "/a//b", "/a/**/b", "/a%2F", "/a?x", "/a;b", "/a*b")) {
      assertThatThrownBy(() -> PathPattern.compile(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void forwardedForIsBelievedOnlyFromTrustedProxiesAndOnlyUpToTheFirstUntrustedHop() throws Exception {
    ForwardedHeaders fh = new ForwardedHeaders(List.of(Cidr.parse("10.0.0.0/8")), "https");
    MultiMap h = MultiMap.caseInsensitiveMultiMap().add("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.1.2.3");
    assertThat(fh.clientAddress(InetAddress.getByName("10.0.0.7"), h)).isEqualTo("203.0.113.9");
    assertThat(fh.clientAddress(InetAddress.getByName("192.0.2.1"), h)).isEqualTo("192.0.2.1");
    MultiMap garbage = MultiMap.caseInsensitiveMultiMap().add("X-Forwarded-For", "not-an-ip");
    assertThat(fh.clientAddress(InetAddress.getByName("10.0.0.7"), garbage)).isEqualTo("10.0.0.7");
  }

  @Test
  void aTrustedProxysSchemeAndChainAreKeptAndExtended() throws Exception {
    ForwardedHeaders fh = new ForwardedHeaders(List.of(Cidr.parse("10.0.0.0/8")), "https");
    MultiMap h = MultiMap.caseInsensitiveMultiMap().add("X-Forwarded-For", "203.0.113.9")
        .add("X-Forwarded-Proto", "https").add("X-Forwarded-Host", "where2eat.apps.example.com").add("X_Forwarded_For", "1.1.1.1");
    fh.rewrite(h, InetAddress.getByName("10.0.0.7"), "where2eat:4180");
    assertThat(h.get("X-Forwarded-For")).isEqualTo("203.0.113.9, 10.0.0.7");
    assertThat(h.get("X-Forwarded-Proto")).isEqualTo("https");
    assertThat(h.get("X-Forwarded-Host")).isEqualTo("where2eat.apps.example.com");
    assertThat(h.names()).doesNotContain("X_Forwarded_For");
  }
}
