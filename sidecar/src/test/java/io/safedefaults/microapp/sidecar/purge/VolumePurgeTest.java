package io.safedefaults.microapp.sidecar.purge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The volume target against a real directory tree: old regular files inside the path go; new files,
 * directories, links and everything outside the path or the claim stay, and no link is followed.
 */
class VolumePurgeTest {
  static final Instant NOW = Instant.parse("2025-03-01T10:15:30.250Z");
  static final Instant CUTOFF = Instant.parse("2025-01-30T10:15:30Z");
  static final Instant OLD = CUTOFF.minus(Duration.ofDays(3));
  static final Instant NEW = CUTOFF.plus(Duration.ofDays(3));
  Path base;
  Path root;     // the claim, mounted at /data in the pod
  Path outside;  // the rest of the container's file system

  @BeforeEach
  void tree() throws Exception {
    base = Files.createTempDirectory("purge-volume-test");
    root = Files.createDirectories(base.resolve("data"));
    outside = Files.createDirectories(base.resolve("outside"));
  }

  @AfterEach
  void removeTree() throws IOException {
    try (Stream<Path> files = Files.walk(base)) { // deletes links, never what they point to
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }

  private static Path file(Path p, Instant mtime) throws IOException {
    Files.createDirectories(p.getParent());
    Files.writeString(p, "content of " + p.getFileName());
    Files.setLastModifiedTime(p, FileTime.from(mtime));
    return p;
  }

  /** A symbolic link whose own mtime is old too, so no rule on age could excuse deleting it. */
  private static Path link(Path link, Path target) throws Exception {
    Files.createDirectories(link.getParent());
    Files.createSymbolicLink(link, target);
    touchWithoutOpening(link, OLD);
    return link;
  }

  /** touch -h: sets the mtime of the entry itself (utimensat), without following or opening it. */
  private static void touchWithoutOpening(Path p, Instant mtime) throws Exception {
    Process touch = new ProcessBuilder("touch", "-h", "-d", "@" + mtime.getEpochSecond(), p.toString())
        .redirectErrorStream(true).start();
    assertThat(touch.waitFor(10, TimeUnit.SECONDS) && touch.exitValue() == 0).as("touch -h").isTrue();
  }

  private PurgeOutcome run(String path) throws Exception {
    Path config = Files.createTempFile(base, "purge", ".json");
    Files.writeString(config, new ObjectMapper().writeValueAsString(Map.of("app", "where2eat", "namespace", "team-food",
        "ttlDays", 30, "version", 1, "target", "volume", "volume", Map.of("path", path, "root", root.toString()))));
    return PurgeRun.run(config, Clock.fixed(NOW, ZoneOffset.UTC));
  }

  private static List<String> everything(Path dir) throws IOException {
    List<String> all = new ArrayList<>();
    try (Stream<Path> s = Files.walk(dir)) { // does not follow links
      s.sorted(Comparator.naturalOrder()).forEach(p -> all.add(dir.relativize(p).toString()));
    }
    return all;
  }

  @Test
  void deletesOnlyOldRegularFilesInsideThePathAndFollowsNoLink() throws Exception {
    Path uploads = root.resolve("uploads");
    file(uploads.resolve("old.jpg"), OLD);
    file(uploads.resolve(".hidden-old"), OLD);
    file(uploads.resolve("just-before-cutoff"), CUTOFF.minusSeconds(1));
    Path atCutoff = file(uploads.resolve("at-cutoff"), CUTOFF);
    Path fresh = file(uploads.resolve("new.jpg"), NEW);
    Path future = file(uploads.resolve("from-the-future"), NOW.plus(Duration.ofDays(400)));
    file(uploads.resolve("a/b/c/deep-old.bin"), OLD);
    Path deepNew = file(uploads.resolve("a/b/new.bin"), NEW);
    Path emptyDir = Files.createDirectories(uploads.resolve("empty"));
    Path emptiedDir = uploads.resolve("a/b/c");
    Files.setLastModifiedTime(emptiedDir, FileTime.from(OLD));
    // outside the configured path but inside the claim
    Path sibling = file(root.resolve("other/old.txt"), OLD);
    // outside the claim, old, reachable only through links
    Path secret = file(outside.resolve("secret.txt"), OLD);
    Path outsideDirFile = file(outside.resolve("dir/old-in-linked-dir.txt"), OLD);
    Path toFile = link(uploads.resolve("link-to-outside-file"), secret);
    Path toDir = link(uploads.resolve("link-to-outside-dir"), outside.resolve("dir"));
    Path upThreeLevels = link(uploads.resolve("a/link-up"), Path.of("../../.."));
    Path inside = link(uploads.resolve("link-to-new"), fresh);
    Path dangling = link(uploads.resolve("dangling"), outside.resolve("nothing-here"));
    Path fifo = uploads.resolve("old-fifo");
    assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
    touchWithoutOpening(fifo, OLD); // opening a FIFO blocks, so the purge must never open one either
    List<String> outsideBefore = everything(outside);

    PurgeOutcome o = run("/uploads");

    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(o.deleted()).isEqualTo(4L);
    assertThat(o.target()).isEqualTo("volume");
    assertThat(everything(uploads)).containsExactly("", "a", "a/b", "a/b/c",
        "a/b/new.bin", "a/link-up", "at-cutoff", "dangling", "empty", "from-the-future", "link-to-new",
        "link-to-outside-dir", "link-to-outside-file", "new.jpg", "old-fifo");
    for (Path kept : List.of(atCutoff, fresh, future, deepNew, sibling)) {
      assertThat(kept).exists();
    }
    assertThat(emptyDir).isDirectory();
    assertThat(emptiedDir).as("directories are left in place, even when emptied").isDirectory();
    for (Path l : List.of(toFile, toDir, upThreeLevels, inside, dangling)) {
      assertThat(Files.isSymbolicLink(l)).as(l.toString()).isTrue();
    }
    // nothing outside touched: same entries, same contents
    assertThat(everything(outside)).isEqualTo(outsideBefore);
    assertThat(Files.readString(secret)).isEqualTo("content of secret.txt");
    assertThat(Files.readString(outsideDirFile)).isEqualTo("content of old-in-linked-dir.txt");
    assertThat(Files.readString(sibling)).isEqualTo("content of old.txt");
  }

  @Test
  void dotAndEmptySegmentsOfThePathAreSkipped() throws Exception {
    file(root.resolve("uploads/2024/old"), OLD);
    file(root.resolve("uploads/keep-old"), OLD);
    PurgeOutcome o = run("/uploads/./2024/");
    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(o.deleted()).isEqualTo(1L);
    assertThat(root.resolve("uploads/keep-old")).exists();
  }

  @Test
  void theWholeClaimWhenThePathIsSlash() throws Exception {
    file(root.resolve("x/old"), OLD);
    file(root.resolve("old"), OLD);
    file(root.resolve("new"), NEW);
    PurgeOutcome o = run("/");
    assertThat(o.exitCode()).as(o.error()).isEqualTo(0);
    assertThat(o.deleted()).isEqualTo(2L);
    assertThat(everything(root)).containsExactly("", "new", "x");
  }

  @Test
  void aPathThroughALinkIsRefusedNotFollowed() throws Exception {
    Path secret = file(outside.resolve("uploads/old.txt"), OLD);
    link(root.resolve("uploads"), outside.resolve("uploads"));
    PurgeOutcome o = run("/uploads");
    assertThat(o.exitCode()).isEqualTo(1);
    assertThat(o.error()).contains("/uploads is a symbolic link; the purge never follows links");
    assertThat(secret).exists();

    // also as an inner component
    Files.createDirectories(root.resolve("app"));
    link(root.resolve("app/files"), outside.resolve("uploads"));
    PurgeOutcome inner = run("/app/files/2024");
    assertThat(inner.exitCode()).isEqualTo(1);
    assertThat(inner.error()).contains("/app/files is a symbolic link");
    assertThat(secret).exists();
  }

  @Test
  void aMissingPathOrClaimFailsLoudly() throws Exception {
    PurgeOutcome o = run("/uploads");
    assertThat(o.exitCode()).isEqualTo(1);
    assertThat(o.error()).contains("/uploads does not exist in the claim");

    file(root.resolve("uploads"), OLD); // a file where a directory should be
    PurgeOutcome notDir = run("/uploads/x");
    assertThat(notDir.exitCode()).isEqualTo(1);
    assertThat(notDir.error()).contains("/uploads is not a directory");

    Files.delete(root.resolve("uploads"));
    Files.delete(root);
    PurgeOutcome noClaim = run("/");
    assertThat(noClaim.exitCode()).isEqualTo(1);
    assertThat(noClaim.error()).contains("is not a directory; is the claim mounted?");
  }

  @Test
  void aPathWithDotDotIsABadConfiguration() throws Exception {
    file(outside.resolve("old.txt"), OLD);
    PurgeOutcome o = run("/../outside");
    assertThat(o.exitCode()).isEqualTo(2);
    assertThat(o.error()).startsWith("field 'volume.path'");
    assertThat(outside.resolve("old.txt")).exists();
    assertThat(Files.exists(outside.resolve("old.txt"), LinkOption.NOFOLLOW_LINKS)).isTrue();
  }
}
