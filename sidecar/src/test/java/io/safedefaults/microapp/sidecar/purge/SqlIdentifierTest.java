package io.safedefaults.microapp.sidecar.purge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** Only plain identifiers become SQL, always double-quoted; everything else is refused. */
class SqlIdentifierTest {
  @ParameterizedTest
  @ValueSource(strings = {"events", "created_at", "_x", "Events", "a1", "user", "A_B_9"})
  void acceptsPlainIdentifiers(String name) {
    assertThat(SqlIdentifier.isValid(name)).isTrue();
    assertThat(new SqlIdentifier(name).quoted()).isEqualTo('"' + name + '"');
  }

  @Test
  void acceptsUpToSixtyThreeCharacters() {
    assertThat(SqlIdentifier.isValid("a".repeat(63))).isTrue();
    assertThat(SqlIdentifier.isValid("a".repeat(64))).isFalse();
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"events; drop table x", "\"events\"", "events\"", "events--", "events/*", "a.b", "a.b.c",
      "évents", "ｅvents", "еvents" /* Cyrillic e */, "events\u0000", "events\n", "\nevents", " events", "events ",
      "1events", "ev ents", "ev'ents", "ev`ents", "ev$1", "events;", "x)", "-events", "e\u200bvents"})
  void refusesAnythingElse(String name) {
    assertThat(SqlIdentifier.isValid(name)).isFalse();
    assertThatThrownBy(() -> new SqlIdentifier(name)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void tablesMayBeSchemaQualifiedOnce() {
    assertThat(SqlIdentifier.Table.parse("events").quoted()).isEqualTo("\"events\"");
    assertThat(SqlIdentifier.Table.parse("app.events").quoted()).isEqualTo("\"app\".\"events\"");
    assertThat(SqlIdentifier.Table.parse("app.events").toString()).isEqualTo("app.events");
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"a.b.c", "app.", ".events", "app..events", "app.events; drop table x",
      "app.\"events\"", "\"app\".events", "app .events", "app.events--", "events; drop table x"})
  void refusesTablesThatAreNotOneOrTwoIdentifiers(String table) {
    assertThatThrownBy(() -> SqlIdentifier.Table.parse(table)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theBatchStatementHoldsOnlyQuotedNamesAndPlaceholders() {
    String sql = PostgresPurge.deleteBatchSql(SqlIdentifier.Table.parse("app.events"), new SqlIdentifier("created_at"));
    assertThat(sql).isEqualTo("DELETE FROM \"app\".\"events\" WHERE ctid = ANY(ARRAY(SELECT ctid FROM \"app\".\"events\""
        + " WHERE \"created_at\" < ? LIMIT ?)) AND \"created_at\" < ?");
  }
}
