package io.safedefaults.microapp.policy;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * How apps are reached from outside the cluster (checklist 5): an Ingress (as ingressClassName and
 * ingressFlavor say), or two HTTPRoutes attached to the platform's shared Gateway. Set by the flags
 * (the cluster default) and per namespace by a MicroAppPolicy; see PolicyMerge for precedence.
 *
 * @param gateway the Gateway apps attach to; null in ingress mode
 * @param conflict why the policies selecting a namespace disagree about exposure, or null; an app
 *     with a host is then exposed nowhere until the platform team settles it (fail closed)
 */
public record Exposure(Kind kind, Gateway gateway, String conflict) {

  public enum Kind {
    INGRESS, GATEWAY;

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Kind parse(String flag, String value) {
      String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
      return switch (v) {
        case "ingress" -> INGRESS;
        case "gateway" -> GATEWAY;
        default -> throw new IllegalArgumentException(flag + ": '" + value + "' is not one of ingress, gateway");
      };
    }
  }

  /**
   * The platform's Gateway and what the operator needs to know about it.
   *
   * @param httpsListener sectionName of the listener (protocol HTTPS) the app's route attaches to
   * @param httpListener sectionName of the plain HTTP listener that only redirects to HTTPS
   * @param dataPlaneNamespaces where the Gateway's proxies run, admitted by each app's NetworkPolicy
   */
  public record Gateway(String name, String namespace, String httpsListener, String httpListener,
      List<String> dataPlaneNamespaces) {

    /** "Gateway gateway-system/public (listener https)", for status messages. */
    public String describe() {
      return "Gateway " + namespace + "/" + name;
    }
  }

  /** An object name, a namespace: a DNS label. */
  static final Pattern DNS_LABEL = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");
  /** Gateway API's SectionName: a DNS subdomain of at most 253 characters. */
  static final Pattern SECTION_NAME = Pattern.compile(
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

  public static Exposure ingress() {
    return new Exposure(Kind.INGRESS, null, null);
  }

  /**
   * A checked gateway exposure; each message names the flag (or policy field, through
   * {@code prefix}) and what it must look like.
   *
   * @param dataPlaneNamespaces empty: the Gateway's own namespace (where NGINX Gateway Fabric, Istio
   *     and kgateway run the proxies of a Gateway)
   */
  public static Exposure gateway(String prefix, String name, String namespace, String httpsListener,
      String httpListener, List<String> dataPlaneNamespaces) {
    if (name == null || !DNS_LABEL.matcher(name).matches()) {
      throw new IllegalArgumentException(prefix + "gateway-name: '" + name + "' must name the platform's Gateway"
          + " (a DNS label such as public) when exposure is gateway");
    }
    if (namespace == null || !DNS_LABEL.matcher(namespace).matches()) {
      throw new IllegalArgumentException(prefix + "gateway-namespace: '" + namespace + "' must be the namespace"
          + " of the platform's Gateway (a DNS label such as gateway-system) when exposure is gateway");
    }
    for (String[] l : new String[][] {{"gateway-https-listener", httpsListener}, {"gateway-http-listener", httpListener}}) {
      if (l[1] == null || l[1].length() > 253 || !SECTION_NAME.matcher(l[1]).matches()) {
        throw new IllegalArgumentException(prefix + l[0] + ": '" + l[1] + "' must be a listener's sectionName"
            + " on the Gateway (lowercase, e.g. https)");
      }
    }
    if (httpsListener.equals(httpListener)) {
      throw new IllegalArgumentException(prefix + "gateway-http-listener must differ from " + prefix
          + "gateway-https-listener: the HTTP listener only redirects to the HTTPS one");
    }
    List<String> dataPlane = dataPlaneNamespaces == null || dataPlaneNamespaces.isEmpty()
        ? List.of(namespace) : List.copyOf(dataPlaneNamespaces);
    for (String ns : dataPlane) {
      if (!DNS_LABEL.matcher(ns).matches()) {
        throw new IllegalArgumentException(prefix + "gateway-data-plane-namespaces: '" + ns
            + "' is not a namespace name (a DNS label such as envoy-gateway-system)");
      }
    }
    return new Exposure(Kind.GATEWAY, new Gateway(name, namespace, httpsListener, httpListener, dataPlane), null);
  }

  public boolean gatewayMode() {
    return kind == Kind.GATEWAY;
  }

  /** This exposure, marked as one the selecting policies disagree about. */
  public Exposure conflicting(String why) {
    return new Exposure(kind, gateway, why);
  }
}
