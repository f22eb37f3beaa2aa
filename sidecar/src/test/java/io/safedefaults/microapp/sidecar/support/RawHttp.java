package io.safedefaults.microapp.sidecar.support;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Sends a request line exactly as written (no client-side normalisation or encoding), the way an
 * attacker's tool would, and returns the status code and body.
 */
public final class RawHttp {
  public record Response(int status, String head, String body) {}

  private RawHttp() {}

  /** What the server answered to {@code raw}, and whether it closed the connection afterwards. */
  public record Exchange(String text, boolean closed) {
    /** Status codes of every response in the text, in order. */
    public java.util.List<Integer> statuses() {
      java.util.List<Integer> out = new java.util.ArrayList<>();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^HTTP/1\\.[01] (\\d{3})").matcher(text);
      while (m.find()) {
        out.add(Integer.parseInt(m.group(1)));
      }
      return out;
    }
  }

  /**
   * Writes {@code raw} as it is (several requests may follow each other) and reads until the
   * server closes the connection or {@code quietMillis} pass without it doing so.
   */
  public static Exchange exchange(int port, String raw, int quietMillis) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(quietMillis);
      s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      boolean closed = false;
      try {
        for (int n; (n = s.getInputStream().read(buf)) >= 0; ) {
          all.write(buf, 0, n);
        }
        closed = true;
      } catch (java.net.SocketTimeoutException e) {
        closed = false;
      } catch (java.net.SocketException e) {
        closed = true; // reset by the server
      }
      return new Exchange(all.toString(StandardCharsets.ISO_8859_1), closed);
    }
  }

  public static Response get(int port, String target, Map<String, String> headers) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      StringBuilder req = new StringBuilder("GET " + target + " HTTP/1.1\r\nHost: localhost:" + port + "\r\n");
      headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
      req.append("Connection: close\r\n\r\n");
      OutputStream out = s.getOutputStream();
      out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      String text = all.toString(StandardCharsets.UTF_8);
      int split = text.indexOf("\r\n\r\n");
      String head = split < 0 ? text : text.substring(0, split);
      String body = split < 0 ? "" : text.substring(split + 4);
      int status = Integer.parseInt(head.substring(9, 12));
      return new Response(status, head, body);
    }
  }
}
