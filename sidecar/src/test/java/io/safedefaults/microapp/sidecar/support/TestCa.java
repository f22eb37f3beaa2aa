package io.safedefaults.microapp.sidecar.support;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v1CertificateBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v1CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority made up for one test run, like the cert-manager CA ClusterIssuer or the
 * internal PKI behind a platform's Keycloak: it signs the test provider's TLS certificate, and its
 * own certificate is what {@code oidc.caFile} holds. Also makes the broken certificates the loader
 * must refuse (leaf, expired, not yet valid, no keyCertSign, version 1).
 */
public final class TestCa {
  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());
  private final KeyPair keys;
  private final X509Certificate certificate;
  /** Certificates between this CA and the root, this CA first (empty for a root). */
  private final List<X509Certificate> chain;

  private TestCa(KeyPair keys, X509Certificate certificate, List<X509Certificate> chain) {
    this.keys = keys;
    this.certificate = certificate;
    this.chain = chain;
  }

  /** A root CA valid from a day ago for a year. */
  public static TestCa root(String name) {
    KeyPair k = newKeys();
    Instant now = Instant.now();
    X509Certificate cert = build(name, k, name, k.getPrivate(), now.minus(Duration.ofDays(1)),
        now.plus(Duration.ofDays(365)), Kind.CA, List.of());
    return new TestCa(k, cert, List.of(cert));
  }

  /** An intermediate CA signed by this one. */
  public TestCa intermediate(String name) {
    KeyPair k = newKeys();
    Instant now = Instant.now();
    X509Certificate cert = build(name, k, subject(), keys.getPrivate(), now.minus(Duration.ofDays(1)),
        now.plus(Duration.ofDays(180)), Kind.CA, List.of());
    List<X509Certificate> c = new ArrayList<>();
    c.add(cert);
    c.addAll(chain);
    return new TestCa(k, cert, List.copyOf(c));
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public String pem() {
    return pem(certificate);
  }

  public Path writePem(Path file) throws Exception {
    Files.writeString(file, pem());
    return file;
  }

  /** A client-side TLS context that trusts only this CA (for the test's own browser). */
  public SSLContext trustingContext() throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", certificate);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /**
   * A PKCS12 keystore with a server key and its certificate for {@code hosts} (DNS names or IP
   * addresses), signed by this CA, followed by the CA chain up to (not including) the root, as a
   * server sends it.
   */
  public Path serverKeystore(Path file, String password, String... hosts) throws Exception {
    KeyPair k = newKeys();
    Instant now = Instant.now();
    List<GeneralName> names = new ArrayList<>();
    for (String h : hosts) {
      names.add(Character.isDigit(h.charAt(0)) || h.contains(":")
          ? new GeneralName(GeneralName.iPAddress, InetAddress.getByName(h).getHostAddress())
          : new GeneralName(GeneralName.dNSName, h));
    }
    X509Certificate leaf = build(hosts[0], k, subject(), keys.getPrivate(), now.minus(Duration.ofHours(1)),
        now.plus(Duration.ofDays(30)), Kind.SERVER, names);
    List<Certificate> presented = new ArrayList<>();
    presented.add(leaf);
    presented.addAll(chain.subList(0, chain.size() - 1)); // intermediates; the root stays with the client
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("server", k.getPrivate(), password.toCharArray(), presented.toArray(new Certificate[0]));
    try (var out = Files.newOutputStream(file)) {
      ks.store(out, password.toCharArray());
    }
    return file;
  }

  /** What a certificate made by {@link #certificate(Kind, Instant, Instant)} is. */
  public enum Kind {
    /** basicConstraints CA:TRUE, keyCertSign. */
    CA,
    /** a server certificate: no basicConstraints. */
    SERVER,
    /** basicConstraints CA:FALSE. */
    NOT_CA,
    /** CA:TRUE but a key usage of digitalSignature only. */
    CA_WITHOUT_CERT_SIGN,
    /** an X.509 version 1 certificate: no extensions, so nothing says it is a CA. */
    V1
  }

  /** A self-signed certificate of the given kind and validity, for the loader's refusals. */
  public static X509Certificate certificate(Kind kind, Instant notBefore, Instant notAfter) {
    KeyPair k = newKeys();
    return build("Test " + kind, k, "Test " + kind, k.getPrivate(), notBefore, notAfter, kind, List.of());
  }

  public static String pem(X509Certificate cert) {
    try {
      return "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private String subject() {
    return certificate.getSubjectX500Principal().getName();
  }

  private static X509Certificate build(String subject, KeyPair subjectKeys, String issuer, PrivateKey issuerKey,
      Instant notBefore, Instant notAfter, Kind kind, List<GeneralName> sans) {
    try {
      X500Name s = new X500Name(subject.contains("=") ? subject : "CN=" + subject);
      X500Name i = new X500Name(issuer.contains("=") ? issuer : "CN=" + issuer);
      BigInteger serial = BigInteger.valueOf(SERIAL.incrementAndGet());
      ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey);
      JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
      if (kind == Kind.V1) {
        X509v1CertificateBuilder b = new JcaX509v1CertificateBuilder(i, serial, Date.from(notBefore),
            Date.from(notAfter), s, subjectKeys.getPublic());
        return converter.getCertificate(b.build(signer));
      }
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(i, serial, Date.from(notBefore), Date.from(notAfter),
          s, subjectKeys.getPublic());
      switch (kind) {
        case CA -> {
          b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
          b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        }
        case CA_WITHOUT_CERT_SIGN -> {
          b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
          b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        }
        case NOT_CA -> b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        case SERVER -> b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        default -> { }
      }
      if (!sans.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])));
      }
      return converter.getCertificate(b.build(signer));
    } catch (Exception e) {
      throw new IllegalStateException("test certificate", e);
    }
  }

  private static KeyPair newKeys() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
