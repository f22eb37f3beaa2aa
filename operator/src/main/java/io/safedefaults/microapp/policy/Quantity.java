package io.safedefaults.microapp.policy;

import java.math.BigDecimal;
import java.util.regex.Matcher;

/**
 * CPU and memory quantities as the API writes them (250m, 1.5, 512Mi, 2Gi), compared by value.
 * Only the forms the CRDs admit; anything else is refused naming where it came from.
 */
public final class Quantity {
  private static final java.util.regex.Pattern FORM = java.util.regex.Pattern.compile("^([0-9]+(?:\\.[0-9]+)?)(m|Ki|Mi|Gi)?$");

  private Quantity() {}

  /** The value in cores or bytes. */
  public static BigDecimal parse(String where, String text) {
    Matcher m = text == null ? null : FORM.matcher(text.trim());
    if (m == null || !m.matches()) {
      throw new IllegalArgumentException(where + ": '" + text + "' is not a quantity such as 500m, 2, 512Mi or 2Gi");
    }
    BigDecimal n = new BigDecimal(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2);
    return switch (unit) {
      case "m" -> n.movePointLeft(3);
      case "Ki" -> n.multiply(BigDecimal.valueOf(1L << 10));
      case "Mi" -> n.multiply(BigDecimal.valueOf(1L << 20));
      case "Gi" -> n.multiply(BigDecimal.valueOf(1L << 30));
      default -> n;
    };
  }

  /** True when {@code a} is more than {@code b}. */
  public static boolean exceeds(String a, String b) {
    return parse("quantity", a).compareTo(parse("quantity", b)) > 0;
  }

  /** Orders quantities by value. */
  public static int compare(String a, String b) {
    return parse("quantity", a).compareTo(parse("quantity", b));
  }

  /** The smaller of two quantities (the stricter bound), as written. */
  public static String min(String a, String b) {
    return exceeds(a, b) ? b : a;
  }
}
