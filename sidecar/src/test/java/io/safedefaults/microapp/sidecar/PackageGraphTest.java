package io.safedefaults.microapp.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The sidecar's packages form a stack: no package uses one that uses it back, directly or through
 * others, so each can be read (and changed) knowing only the packages below it. Read from the
 * sources, imports and fully qualified names alike.
 */
class PackageGraphTest {
  private static final String ROOT = "io.safedefaults.microapp.sidecar";
  private static final Path SOURCES = Path.of("src/main/java", ROOT.split("\\."));
  /** A use of a type: the package (lower-case segments) and then a capitalised name or a wildcard. */
  private static final Pattern USE = Pattern.compile(Pattern.quote(ROOT) + "((?:\\.[a-z][a-z0-9_]*)*)\\.(?:[A-Z]|\\*)");

  @Test
  void packagesDoNotDependOnEachOtherInACircle() throws IOException {
    Map<String, Set<String>> uses = packageUses();
    assertThat(uses).as("packages read from %s", SOURCES).containsKeys(ROOT + ".server", ROOT + ".http");
    assertThat(cycles(uses)).as("package cycles (each package uses the next, the last the first)").isEmpty();
  }

  @Test
  void aCycleIsFound() {
    Map<String, Set<String>> uses = new TreeMap<>(Map.of(
        "a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a")));
    assertThat(cycles(uses)).containsExactly(List.of("a", "b", "c"));
  }

  private static Map<String, Set<String>> packageUses() throws IOException {
    Map<String, Set<String>> uses = new TreeMap<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        String pkg = ROOT + packageSuffix(SOURCES.relativize(file.getParent()));
        Set<String> used = uses.computeIfAbsent(pkg, p -> new TreeSet<>());
        Matcher m = USE.matcher(Files.readString(file));
        while (m.find()) {
          String target = ROOT + m.group(1);
          if (!target.equals(pkg)) {
            used.add(target);
          }
        }
      }
    }
    return uses;
  }

  private static String packageSuffix(Path relative) {
    String s = relative.toString().replace(relative.getFileSystem().getSeparator(), ".");
    return s.isEmpty() ? "" : "." + s;
  }

  /** Every strongly connected group of two or more packages, as one path around it. */
  static List<List<String>> cycles(Map<String, Set<String>> uses) {
    List<List<String>> found = new ArrayList<>();
    Set<String> inCycle = new TreeSet<>();
    for (String start : uses.keySet()) {
      if (!inCycle.contains(start)) {
        List<String> path = new ArrayList<>();
        if (pathBack(start, start, uses, path, new TreeSet<>())) {
          inCycle.addAll(path);
          found.add(path);
        }
      }
    }
    return found;
  }

  /** Depth-first search for a way from {@code at} back to {@code start}; {@code path} holds it. */
  private static boolean pathBack(String start, String at, Map<String, Set<String>> uses, List<String> path,
      Set<String> seen) {
    path.add(at);
    seen.add(at);
    for (String next : uses.getOrDefault(at, Set.of())) {
      if (next.equals(start) || (!seen.contains(next) && pathBack(start, next, uses, path, seen))) {
        return true;
      }
    }
    path.remove(path.size() - 1);
    return false;
  }
}
