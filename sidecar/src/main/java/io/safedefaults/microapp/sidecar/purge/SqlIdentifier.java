package io.safedefaults.microapp.sidecar.purge;

import java.util.regex.Pattern;

/**
 * A PostgreSQL identifier the purge may put into SQL (checklist 8): plain ASCII letters, digits and
 * underscores, not starting with a digit, at most 63 bytes (PostgreSQL's NAMEDATALEN - 1). Anything
 * else is refused before any SQL exists, so quoting is a formality rather than the defence; the
 * name is still always double-quoted, which also keeps reserved words such as {@code user} usable.
 * Quoted names are case-sensitive: write them as PostgreSQL stores them (lower case unless the
 * table was created with a quoted mixed-case name).
 */
public record SqlIdentifier(String name) {
  private static final Pattern IDENTIFIER = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]{0,62}$");

  public SqlIdentifier {
    if (!isValid(name)) {
      throw new IllegalArgumentException("not a plain SQL identifier");
    }
  }

  /** The same rule as the operator's CRD ({@code PurgeSpec.IDENTIFIER}). */
  public static boolean isValid(String name) {
    // Pattern's $ also matches before a final line terminator: refuse those explicitly
    return name != null && !name.endsWith("\n") && IDENTIFIER.matcher(name).matches();
  }

  public String quoted() {
    return '"' + name + '"'; // cannot contain a quote: see IDENTIFIER
  }

  @Override
  public String toString() {
    return name;
  }

  /** {@code table} or {@code schema.table}. */
  public record Table(SqlIdentifier schema, SqlIdentifier name) {
    public static Table parse(String text) {
      if (text == null) {
        throw new IllegalArgumentException("missing");
      }
      int dot = text.indexOf('.');
      if (dot < 0) {
        return new Table(null, new SqlIdentifier(text));
      }
      // a second dot lands in the name part, which the identifier rule refuses (no a.b.c)
      return new Table(new SqlIdentifier(text.substring(0, dot)), new SqlIdentifier(text.substring(dot + 1)));
    }

    public String quoted() {
      return schema == null ? name.quoted() : schema.quoted() + "." + name.quoted();
    }

    @Override
    public String toString() {
      return schema == null ? name.name() : schema.name() + "." + name.name();
    }
  }
}
