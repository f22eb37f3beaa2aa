package io.safedefaults.microapp.policy;

import java.util.Locale;

/** Which ingress controller's annotations the operator writes. */
public enum IngressFlavor {
  NGINX,
  TRAEFIK;

  /** "auto" picks Traefik when the ingress class name says so, ingress-nginx otherwise. */
  public static IngressFlavor parse(String value, String ingressClassName) {
    String v = value == null ? "auto" : value.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "nginx", "ingress-nginx" -> NGINX;
      case "traefik" -> TRAEFIK;
      case "auto" -> ingressClassName != null && ingressClassName.toLowerCase(Locale.ROOT).contains("traefik")
          ? TRAEFIK : NGINX;
      default -> throw new IllegalArgumentException(
          "--ingress-flavor: '" + value + "' is not one of auto, nginx, traefik");
    };
  }
}
