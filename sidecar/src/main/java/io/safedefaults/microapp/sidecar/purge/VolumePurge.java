package io.safedefaults.microapp.sidecar.purge;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;

/**
 * Deletes regular files whose modification time is before the cutoff under root + path of the
 * app's PersistentVolumeClaim (checklist 8), without ever following a symbolic link.
 *
 * <p>The walk goes through {@link SecureDirectoryStream}s: every directory is opened relative to its
 * already-open parent with {@code O_NOFOLLOW}, every file is examined and unlinked relative to its
 * open directory. So a link, including one the app swaps in while the purge runs, is never followed
 * and the walk cannot leave the directory it started in; the configured path is descended the same
 * way, so a link among its components is refused instead of followed.
 *
 * <ul>
 *   <li>Symbolic links are neither followed nor deleted: a link holds no data itself, its own mtime
 *       says when the link was made, and removing it could break the app's layout. A link to a file
 *       inside the purged tree changes nothing: that file is judged where it really lives.</li>
 *   <li>Directories are never deleted, empty or not: the app owns its layout, and removing a
 *       directory races with the app writing into it.</li>
 *   <li>FIFOs, sockets and device nodes are left alone.</li>
 *   <li>An entry that cannot be read or deleted is counted and the walk goes on; the run then fails
 *       (exit 1) with the number of files it did delete.</li>
 * </ul>
 */
final class VolumePurge implements PurgeTarget {
  /** Each level holds one open directory; deeper trees than this are reported, not walked. */
  static final int MAX_DEPTH = 128;
  private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

  private final PurgeConfig.Volume config;
  private long deleted;
  private long problems;
  private String firstProblem;

  VolumePurge(PurgeConfig.Volume config) {
    this.config = config;
  }

  @Override
  public Long purge(Instant cutoff) throws PurgeFailedException {
    deleted = 0;
    problems = 0;
    firstProblem = null;
    Path root = Path.of(config.root());
    if (!Files.isDirectory(root)) {
      throw new PurgeFailedException("volume.root " + config.root() + " is not a directory; is the claim mounted?", 0L);
    }
    DirectoryStream<Path> top;
    try {
      top = Files.newDirectoryStream(root.toRealPath());
    } catch (IOException e) {
      throw new PurgeFailedException("cannot open volume.root " + config.root() + " (" + e.getClass().getSimpleName()
          + ")", 0L);
    }
    if (!(top instanceof SecureDirectoryStream<Path> rootDir)) {
      close(top);
      throw new PurgeFailedException("this file system offers no race-free directory walk (openat/unlinkat); "
          + "refusing to purge without it", 0L);
    }
    SecureDirectoryStream<Path> dir = rootDir;
    String walked = "";
    try {
      for (String part : config.path().split("/")) {
        if (part.isEmpty() || part.equals(".")) {
          continue;
        }
        walked = walked + "/" + part;
        String at = "volume.path " + config.path() + ": " + walked;
        BasicFileAttributes a;
        try {
          a = dir.getFileAttributeView(Path.of(part), BasicFileAttributeView.class, NOFOLLOW).readAttributes();
        } catch (NoSuchFileException e) {
          throw new PurgeFailedException(at + " does not exist in the claim; create it or correct "
              + "spec.retention.purge.volume.path", 0L);
        } catch (IOException e) {
          throw new PurgeFailedException(at + " cannot be examined (" + e.getClass().getSimpleName() + ")", 0L);
        }
        if (a.isSymbolicLink()) {
          throw new PurgeFailedException(at + " is a symbolic link; the purge never follows links", 0L);
        }
        if (!a.isDirectory()) {
          throw new PurgeFailedException(at + " is not a directory", 0L);
        }
        SecureDirectoryStream<Path> next;
        try {
          // O_NOFOLLOW again: it may have been swapped for a link since we looked
          next = dir.newDirectoryStream(Path.of(part), NOFOLLOW);
        } catch (IOException e) {
          throw new PurgeFailedException(at + " cannot be opened (" + e.getClass().getSimpleName() + ")", 0L);
        }
        close(dir);
        dir = next;
      }
      walk(dir, cutoff, 0);
    } finally {
      close(dir);
    }
    if (problems > 0) {
      throw new PurgeFailedException(problems + " entries could not be examined or deleted (first: " + firstProblem
          + "); " + deleted + " files were deleted", deleted);
    }
    return deleted;
  }

  private void walk(SecureDirectoryStream<Path> dir, Instant cutoff, int depth) {
    try {
      for (Path entry : dir) {
        visit(dir, entry.getFileName(), cutoff, depth);
      }
    } catch (java.nio.file.DirectoryIteratorException e) {
      problem(e.getCause());
    }
  }

  private void visit(SecureDirectoryStream<Path> dir, Path name, Instant cutoff, int depth) {
    BasicFileAttributes attrs;
    try {
      attrs = dir.getFileAttributeView(name, BasicFileAttributeView.class, NOFOLLOW).readAttributes();
    } catch (NoSuchFileException gone) {
      return; // deleted by the app meanwhile
    } catch (IOException e) {
      problem(e);
      return;
    }
    if (attrs.isDirectory()) {
      if (depth + 1 >= MAX_DEPTH) {
        problem(new IOException("TooDeep"));
        return;
      }
      SecureDirectoryStream<Path> sub;
      try {
        sub = dir.newDirectoryStream(name, NOFOLLOW);
      } catch (NoSuchFileException gone) {
        return;
      } catch (IOException e) {
        problem(e); // includes a directory swapped for a link since we looked (ELOOP)
        return;
      }
      try {
        walk(sub, cutoff, depth + 1);
      } finally {
        close(sub);
      }
    } else if (attrs.isRegularFile() && attrs.lastModifiedTime().toInstant().isBefore(cutoff)) {
      try {
        // unlinkat(dirfd, name): removes this name only; had it become a link, the link, never its target
        dir.deleteFile(name);
        deleted++;
      } catch (NoSuchFileException gone) {
        // deleted by the app meanwhile
      } catch (IOException e) {
        problem(e);
      }
    }
    // symbolic links, FIFOs, sockets, devices: left alone
  }

  /** Counted with the error's kind only: file names are the app's data and may name people. */
  private void problem(IOException e) {
    problems++;
    if (firstProblem == null) {
      firstProblem = "TooDeep".equals(e.getMessage()) ? "a directory deeper than " + MAX_DEPTH + " levels"
          : e.getClass().getSimpleName();
    }
  }

  private static void close(DirectoryStream<Path> d) {
    try {
      d.close();
    } catch (IOException ignored) {
      // read-only handle
    }
  }

  long problems() {
    return problems;
  }
}
