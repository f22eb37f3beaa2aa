package io.safedefaults.microapp.sidecar.purge;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a credential mounted from a Secret (the purge token, the JDBC URL). Errors name the field
 * and the path, never a byte of the content.
 */
final class SecretFile {
  private static final int MAX_BYTES = 16 * 1024;

  private SecretFile() {}

  /** The file's text without trailing whitespace (Secrets written by hand often end in a newline). */
  static String read(String path, String field) {
    byte[] raw;
    try (InputStream in = Files.newInputStream(Path.of(path))) {
      raw = in.readNBytes(MAX_BYTES + 1);
    } catch (NoSuchFileException e) {
      throw new PurgeConfigException("field '" + field + "': " + path + " does not exist; is the Secret mounted?");
    } catch (IOException e) {
      throw new PurgeConfigException("field '" + field + "': " + path + " cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    if (raw.length > MAX_BYTES) {
      throw new PurgeConfigException("field '" + field + "': " + path + " is larger than " + MAX_BYTES + " bytes");
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(raw)).toString();
    } catch (CharacterCodingException e) {
      throw new PurgeConfigException("field '" + field + "': " + path + " is not UTF-8 text");
    }
    text = text.stripTrailing();
    if (text.isEmpty()) {
      throw new PurgeConfigException("field '" + field + "': " + path + " is empty");
    }
    return text;
  }
}
