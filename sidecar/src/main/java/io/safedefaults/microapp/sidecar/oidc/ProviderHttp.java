package io.safedefaults.microapp.sidecar.oidc;

import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.util.ResourceRetriever;
import io.safedefaults.microapp.sidecar.config.SidecarConfig.ProviderCa;
import java.net.http.HttpClient;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * Every connection the sidecar opens to the OIDC provider goes through here (checklist 1, 5):
 * discovery and the token exchange through {@link #client()}, the JWKS fetches and refreshes
 * through {@link #jwksRetriever()}. Sign-out and sign-in redirects are the browser's own requests;
 * there is no userinfo call. With {@code oidc.caFile} both trust exactly the CAs of that bundle and
 * not the JVM's default trust store, as oauth2-proxy's {@code --provider-ca-file} does: a private
 * provider is trusted through its own CA only, and no public CA can vouch for an impostor of it.
 * Without it, both use the JVM defaults, as before. Host names are verified in either case.
 */
public final class ProviderHttp {
  private final HttpClient client;
  private final SSLSocketFactory jwksSockets; // null: the JVM's default

  private ProviderHttp(HttpClient client, SSLSocketFactory jwksSockets) {
    this.client = client;
    this.jwksSockets = jwksSockets;
  }

  /** @param ca the loaded {@code oidc.caFile}, or null for the JVM's default trust store */
  public static ProviderHttp create(ProviderCa ca) {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
        .followRedirects(HttpClient.Redirect.NEVER);
    if (ca == null) {
      return new ProviderHttp(b.build(), null);
    }
    SSLContext tls = trusting(ca.certificates());
    return new ProviderHttp(b.sslContext(tls).build(), tls.getSocketFactory());
  }

  /** Discovery and the token endpoint. */
  public HttpClient client() {
    return client;
  }

  /** The signing keys (jwks_uri): at most 512 KB, 5 s to connect and 5 s to read. */
  public ResourceRetriever jwksRetriever() {
    return new DefaultResourceRetriever(5_000, 5_000, 512 * 1024, true, jwksSockets);
  }

  static SSLContext trusting(List<X509Certificate> cas) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        store.setCertificateEntry("oidc-ca-" + i, cas.get(i));
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      SSLContext tls = SSLContext.getInstance("TLS");
      tls.init(null, tmf.getTrustManagers(), null);
      return tls;
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot build a TLS context from oidc.caFile", e);
    }
  }
}
