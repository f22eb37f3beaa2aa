package io.safedefaults.microapp.scan;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A CA made up for one test run, like cert-manager's CA ClusterIssuer: it signs the test sites' certificates. */
final class ScanTestCa {
  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());
  private final KeyPair keys = newKeys();
  private final X509Certificate certificate;

  ScanTestCa(String name) {
    Instant now = Instant.now();
    certificate = sign("CN=" + name, keys, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(365)), null);
  }

  Path writePem(Path file) throws Exception {
    Files.writeString(file, "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(certificate.getEncoded())
        + "\n-----END CERTIFICATE-----\n");
    return file;
  }

  /** A server's TLS context: a key and a certificate for {@code dnsName}, valid between the two instants. */
  SSLContext server(String dnsName, Instant notBefore, Instant notAfter) throws Exception {
    KeyPair k = newKeys();
    X509Certificate leaf = sign("CN=" + dnsName, k, notBefore, notAfter, dnsName);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("server", k.getPrivate(), "x".toCharArray(), new Certificate[] {leaf});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "x".toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    return ctx;
  }

  SSLContext server(String dnsName) throws Exception {
    Instant now = Instant.now();
    return server(dnsName, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(90)));
  }

  private X509Certificate sign(String subject, KeyPair subjectKeys, Instant notBefore, Instant notAfter, String san) {
    try {
      X500Name issuer = certificate == null ? new X500Name(subject)
          : new X500Name(certificate.getSubjectX500Principal().getName());
      var b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(notBefore),
          Date.from(notAfter), new X500Name(subject), subjectKeys.getPublic());
      if (san == null) {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        b.addExtension(Extension.subjectAlternativeName, false,
            new GeneralNames(new GeneralName(GeneralName.dNSName, san)));
      }
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException("test certificate", e);
    }
  }

  private static KeyPair newKeys() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
