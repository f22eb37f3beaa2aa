package io.safedefaults.microapp.kms;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * IAM roles for service accounts (IRSA, and any OIDC web identity): the role in
 * {@code AWS_ROLE_ARN} is assumed with the token in {@code AWS_WEB_IDENTITY_TOKEN_FILE} (projected
 * by the kubelet, audience {@code sts.amazonaws.com}) through STS {@code AssumeRoleWithWebIdentity},
 * an unsigned call; the temporary credentials are kept until five minutes before they expire. STS
 * checks the token against the cluster's OIDC issuer and the role's trust policy. The endpoint is
 * the regional {@code https://sts.<region>.amazonaws.com}, or {@code AWS_ENDPOINT_URL_STS}.
 *
 * <p>STS answers XML; it is parsed here, strictly (no DTDs, no external entities), and only the
 * four credential fields and an error's code are read. Messages carry the role and the error code,
 * never the token or the credentials.
 */
final class AwsWebIdentity {
  static final Pattern ROLE_ARN = Pattern.compile("arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}");
  private static final Pattern SESSION_NAME = Pattern.compile("[\\w+=,.@-]{2,64}");
  private static final Duration EARLY = Duration.ofMinutes(5);
  private final String roleArn;
  private final Path tokenFile;
  private final String sessionName;
  private final URI endpoint;
  private final KmsHttp http;
  private final Clock clock;
  private AwsCredentials.Credentials cached;
  private Instant renewAt = Instant.MIN;

  AwsWebIdentity(Map<String, String> env, String region, Clock clock) {
    roleArn = env.get("AWS_ROLE_ARN").strip();
    if (!ROLE_ARN.matcher(roleArn).matches()) {
      throw new IllegalArgumentException("AWS_ROLE_ARN is not an IAM role ARN; use arn:aws:iam::<account>:role/<name>");
    }
    tokenFile = Path.of(env.get("AWS_WEB_IDENTITY_TOKEN_FILE").strip());
    String name = env.getOrDefault("AWS_ROLE_SESSION_NAME", "microapp-kms").strip();
    if (!SESSION_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("AWS_ROLE_SESSION_NAME must be 2 to 64 of letters, digits and +=,.@_-");
    }
    sessionName = name;
    String override = env.get("AWS_ENDPOINT_URL_STS");
    String suffix = roleArn.startsWith("arn:aws-cn:") ? "amazonaws.com.cn" : "amazonaws.com";
    endpoint = override == null || override.isBlank() ? URI.create("https://sts." + region + "." + suffix)
        : KmsUri.endpointUrl(override.strip(), "AWS_ENDPOINT_URL_STS");
    http = new KmsHttp("AWS STS " + endpoint, null);
    this.clock = clock;
  }

  static boolean configured(Map<String, String> env) {
    return notBlank(env.get("AWS_ROLE_ARN")) && notBlank(env.get("AWS_WEB_IDENTITY_TOKEN_FILE"));
  }

  synchronized AwsCredentials.Credentials get() throws KmsUnavailableException {
    Instant now = clock.instant();
    if (cached != null && now.isBefore(renewAt)) {
      return cached;
    }
    String token;
    try {
      token = Files.readString(tokenFile).strip();
    } catch (IOException e) {
      throw new KmsUnavailableException("cannot read the web identity token " + tokenFile
          + " (AWS_WEB_IDENTITY_TOKEN_FILE): " + e.getClass().getSimpleName() + "; the pod must mount it");
    }
    if (token.isEmpty()) {
      throw new KmsUnavailableException("the web identity token " + tokenFile + " is empty");
    }
    Map<String, String> form = new LinkedHashMap<>();
    form.put("Action", "AssumeRoleWithWebIdentity");
    form.put("Version", "2011-06-15");
    form.put("RoleArn", roleArn);
    form.put("RoleSessionName", sessionName);
    form.put("DurationSeconds", "3600");
    form.put("WebIdentityToken", token);
    String body = form.entrySet().stream()
        .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8)).collect(Collectors.joining("&"));
    HttpResponse<byte[]> reply = http.postRaw(endpoint.resolve("/"),
        Map.of("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), body.getBytes(StandardCharsets.UTF_8));
    Document doc = parse(reply.body());
    if (reply.statusCode() != 200) {
      String code = doc == null ? "" : text(doc.getDocumentElement(), "Code");
      // 400/403: a token STS does not accept for this role (trust policy, audience, expired)
      throw new KmsUnavailableException(http.what() + " refused AssumeRoleWithWebIdentity for " + roleArn + ": HTTP "
          + reply.statusCode() + (code.isEmpty() ? "" : " (" + code + ")"));
    }
    if (doc == null) {
      throw new KmsUnavailableException(http.what() + " answered AssumeRoleWithWebIdentity with no readable XML");
    }
    Element root = doc.getDocumentElement();
    String id = text(root, "AccessKeyId");
    String secret = text(root, "SecretAccessKey");
    String session = text(root, "SessionToken");
    Instant expires;
    try {
      expires = Instant.parse(text(root, "Expiration"));
    } catch (RuntimeException e) {
      throw new KmsUnavailableException(http.what() + " answered without a valid Credentials.Expiration");
    }
    if (id.isEmpty() || secret.isEmpty() || session.isEmpty()) {
      throw new KmsUnavailableException(http.what() + " answered without AccessKeyId, SecretAccessKey and SessionToken");
    }
    cached = new AwsCredentials.Credentials(id, secret, session);
    Instant early = expires.minus(EARLY);
    renewAt = early.isAfter(now) ? early : now.plusSeconds(10);
    return cached;
  }

  /** Strict XML: no DTD, no external entities or schemas; null when the bytes are not XML. */
  static Document parse(byte[] xml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
      f.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
      f.setXIncludeAware(false);
      f.setExpandEntityReferences(false);
      f.setNamespaceAware(true);
      return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
    } catch (Exception e) {
      return null;
    }
  }

  /** The text of the first element of that local name anywhere below, or "". */
  private static String text(Element root, String name) {
    NodeList nodes = root.getElementsByTagNameNS("*", name);
    return nodes.getLength() == 0 ? "" : nodes.item(0).getTextContent().strip();
  }

  private static boolean notBlank(String s) {
    return s != null && !s.isBlank();
  }

}
