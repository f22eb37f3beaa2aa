package io.safedefaults.microapp.auth;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The PEM bundle of the CAs that sign the OIDC provider's TLS certificates ({@code --oidc-ca-file},
 * checklist 1, 5), read once at start with exactly the sidecar's rules
 * ({@code io.safedefaults.microapp.sidecar.config.CaBundle}): every block a well-formed CERTIFICATE
 * of a CA that is valid now. A bundle the operator accepts is one every sidecar accepts, so a bad
 * one stops the operator with one line instead of every app's sidecar failing to start. Messages
 * say what is wrong and where (block number, dates), never the file's contents.
 */
public final class CaBundle {
  /** Far above any real bundle (the whole Mozilla root store is ~220 KB), well under a ConfigMap's 1 MiB. */
  static final int MAX_BYTES = 512 * 1024;
  private static final Pattern BOUNDARY = Pattern.compile("^-----(BEGIN|END) ([A-Z0-9 ]+)-----$");
  private static final Pattern BASE64_LINE = Pattern.compile("^[A-Za-z0-9+/]*={0,2}$");

  private CaBundle() {}

  /** Thrown with the reason and the fix, without any of the file's contents. */
  public static final class Invalid extends Exception {
    Invalid(String message) {
      super(message);
    }
  }

  public static List<X509Certificate> read(Path file, Instant now) throws Invalid {
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_BYTES + 1);
    } catch (IOException e) {
      throw new Invalid("cannot be read (" + e.getClass().getSimpleName() + "); give the path of a PEM file with"
          + " the provider's CA certificates");
    }
    if (bytes.length > MAX_BYTES) {
      throw new Invalid("is larger than " + MAX_BYTES / 1024 + " KiB; a CA bundle holds a few certificates, not a"
          + " whole trust store");
    }
    return parse(bytes, now);
  }

  public static List<X509Certificate> parse(byte[] pem, Instant now) throws Invalid {
    List<byte[]> blocks = blocks(new String(pem, StandardCharsets.US_ASCII));
    if (blocks.isEmpty()) {
      throw new Invalid("holds no PEM certificate (-----BEGIN CERTIFICATE-----); put the PEM of the CA that signs"
          + " the provider's TLS certificate there");
    }
    CertificateFactory x509;
    try {
      x509 = CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new IllegalStateException("no X.509 support in this JRE", e);
    }
    List<X509Certificate> out = new ArrayList<>();
    for (int i = 0; i < blocks.size(); i++) {
      int n = i + 1;
      X509Certificate cert;
      try {
        cert = (X509Certificate) x509.generateCertificate(new ByteArrayInputStream(blocks.get(i)));
        // the factory stops after one certificate: bytes behind it would go unnoticed
        if (!Arrays.equals(cert.getEncoded(), blocks.get(i))) {
          throw new CertificateException("trailing bytes");
        }
      } catch (CertificateException | RuntimeException e) {
        throw new Invalid("certificate " + n + " is not a valid X.509 certificate; export the CA certificate"
            + " again as PEM");
      }
      if (cert.getBasicConstraints() < 0) {
        throw new Invalid("certificate " + n + " is not a CA certificate (no basicConstraints CA:TRUE): the bundle"
            + " must hold the CA that signed the provider's certificate, not the provider's own certificate");
      }
      boolean[] usage = cert.getKeyUsage();
      if (usage != null && (usage.length < 6 || !usage[5])) {
        throw new Invalid("certificate " + n + " is not a CA certificate (its key usage lacks keyCertSign): the"
            + " bundle must hold the CA that signed the provider's certificate");
      }
      if (now.isAfter(cert.getNotAfter().toInstant())) {
        throw new Invalid("certificate " + n + " expired on " + cert.getNotAfter().toInstant()
            + "; replace it with the CA's current certificate");
      }
      if (now.isBefore(cert.getNotBefore().toInstant())) {
        throw new Invalid("certificate " + n + " is not valid before " + cert.getNotBefore().toInstant()
            + "; check this machine's clock or use the CA's current certificate");
      }
      out.add(cert);
    }
    return List.copyOf(out);
  }

  /**
   * The certificates as PEM, one block each, 64 columns, nothing else: what goes into every app's
   * sidecar ConfigMap, so comments or line endings in the file never roll pods, only certificates.
   */
  public static String pem(List<X509Certificate> certificates) {
    StringBuilder b = new StringBuilder();
    Base64.Encoder mime = Base64.getMimeEncoder(64, new byte[] {'\n'});
    for (X509Certificate c : certificates) {
      try {
        b.append("-----BEGIN CERTIFICATE-----\n").append(mime.encodeToString(c.getEncoded()))
            .append("\n-----END CERTIFICATE-----\n");
      } catch (java.security.cert.CertificateEncodingException e) {
        throw new IllegalStateException("a parsed certificate cannot be encoded again", e);
      }
    }
    return b.toString();
  }

  /** The DER bytes of each CERTIFICATE block; any other block, or a broken one, is refused. */
  private static List<byte[]> blocks(String text) throws Invalid {
    List<byte[]> out = new ArrayList<>();
    StringBuilder body = null;
    int n = 0;
    for (String raw : text.split("\r?\n", -1)) {
      String line = raw.strip();
      Matcher m = BOUNDARY.matcher(line);
      if (body == null) {
        if (!m.matches()) {
          continue; // text between blocks
        }
        n++;
        if (m.group(1).equals("END")) {
          throw new Invalid("PEM block " + n + " has an END line without a BEGIN line; export the CA certificate"
              + " again as PEM");
        }
        if (!m.group(2).equals("CERTIFICATE")) {
          throw new Invalid("PEM block " + n + " is labelled " + m.group(2) + ", not CERTIFICATE; the bundle holds CA"
              + " certificates only" + (m.group(2).contains("PRIVATE KEY") ? " (never a key: remove it)" : ""));
        }
        body = new StringBuilder();
      } else if (m.matches()) {
        if (!m.group(1).equals("END") || !m.group(2).equals("CERTIFICATE")) {
          throw new Invalid("PEM block " + n + " has no matching END CERTIFICATE line; export the CA certificate"
              + " again as PEM");
        }
        byte[] der;
        try {
          der = Base64.getDecoder().decode(body.toString());
        } catch (IllegalArgumentException e) {
          der = null;
        }
        if (der == null || der.length == 0) {
          throw new Invalid("PEM block " + n + " is not valid base64; export the CA certificate again as PEM");
        }
        out.add(der);
        body = null;
      } else if (BASE64_LINE.matcher(line).matches()) {
        body.append(line);
      } else {
        throw new Invalid("PEM block " + n + " has a line that is not base64; export the CA certificate again as PEM");
      }
    }
    if (body != null) {
      throw new Invalid("PEM block " + n + " has no END CERTIFICATE line (the file is cut short?); export the CA"
          + " certificate again as PEM");
    }
    return out;
  }
}
