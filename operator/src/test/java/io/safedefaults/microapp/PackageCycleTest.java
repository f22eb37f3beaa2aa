package io.safedefaults.microapp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
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
 * The operator's packages form a straight stack (api, kube, policy, status, the defaults, the
 * reconciler, cli): no package uses a package that uses it back, directly or through others. Read
 * from the sources, so a cycle fails the build the moment it is written, whatever the classes' names.
 */
class PackageCycleTest {
  private static final Path SOURCES = Path.of("src/main/java");
  private static final String ROOT = "io.safedefaults.microapp";
  /** A reference to one of our classes, imported or written out in full: its package is the part before the class. */
  private static final Pattern REFERENCE = Pattern.compile("\\b" + Pattern.quote(ROOT) + "((?:\\.[a-z][a-z0-9_]*)*)\\.[A-Z]");
  private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);
  private static final Pattern COMMENTS = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

  @Test
  void noPackageUsesOneThatUsesItBack() {
    Map<String, Set<String>> graph = packageGraph(SOURCES);
    assertThat(graph).as("packages read from %s", SOURCES.toAbsolutePath())
        .containsKeys(ROOT, ROOT + ".api", ROOT + ".policy", ROOT + ".kube", ROOT + ".cli");
    assertThat(cycles(graph)).as("package cycles (each a set of packages that use one another)").isEmpty();
  }

  /** The bottom of the stack depends on nothing above it; the reconciler's package is used only by the CLI. */
  @Test
  void theStackHasItsEnds() {
    Map<String, Set<String>> graph = packageGraph(SOURCES);
    assertThat(graph.get(ROOT + ".api")).as("the CRD model uses none of our packages").isEmpty();
    assertThat(graph.get(ROOT + ".kube")).as("kube sits right above the model").containsOnly(ROOT + ".api");
    assertThat(graph.get(ROOT + ".policy")).as("the plan is below every builder and check")
        .isSubsetOf(ROOT + ".api", ROOT + ".kube");
    graph.forEach((from, to) -> {
      if (!from.equals(ROOT + ".cli")) {
        assertThat(to).as("%s uses the reconciler's package or the CLI", from).doesNotContain(ROOT, ROOT + ".cli");
      }
    });
  }

  /** The check itself: a cycle through three packages is found, a straight stack is not. */
  @Test
  void findsACycleWhereThereIsOne() {
    Map<String, Set<String>> looped = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a"));
    assertThat(cycles(looped)).containsExactly(new TreeSet<>(Set.of("a", "b", "c")));
    assertThat(cycles(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of()))).isEmpty();
  }

  /** Package to the other packages of ours its classes refer to. */
  static Map<String, Set<String>> packageGraph(Path sources) {
    Map<String, Set<String>> graph = new TreeMap<>();
    try (Stream<Path> files = Files.walk(sources)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String code = COMMENTS.matcher(Files.readString(f)).replaceAll(" ");
        Matcher pkg = PACKAGE.matcher(code);
        if (!pkg.find()) {
          continue;
        }
        Set<String> uses = graph.computeIfAbsent(pkg.group(1), k -> new TreeSet<>());
        Matcher m = REFERENCE.matcher(code.substring(pkg.end()));
        while (m.find()) {
          String used = ROOT + m.group(1);
          if (!used.equals(pkg.group(1))) {
            uses.add(used);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // a reference to a package without sources here (the sidecar's, in a comment's code) is no edge
    graph.values().forEach(uses -> uses.retainAll(graph.keySet()));
    return graph;
  }

  /** The graph's strongly connected components of more than one package (Tarjan). */
  static List<Set<String>> cycles(Map<String, Set<String>> graph) {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    Deque<String> stack = new ArrayDeque<>();
    List<Set<String>> found = new ArrayList<>();
    for (String p : new TreeSet<>(graph.keySet())) {
      if (!index.containsKey(p)) {
        connect(p, graph, index, low, stack, found);
      }
    }
    return found;
  }

  private static void connect(String p, Map<String, Set<String>> graph, Map<String, Integer> index,
      Map<String, Integer> low, Deque<String> stack, List<Set<String>> found) {
    index.put(p, index.size());
    low.put(p, index.get(p));
    stack.push(p);
    for (String q : graph.getOrDefault(p, Set.of())) {
      if (!index.containsKey(q)) {
        connect(q, graph, index, low, stack, found);
        low.put(p, Math.min(low.get(p), low.get(q)));
      } else if (stack.contains(q)) {
        low.put(p, Math.min(low.get(p), index.get(q)));
      }
    }
    if (low.get(p).equals(index.get(p))) {
      Set<String> component = new TreeSet<>();
      String q;
      do {
        q = stack.pop();
        component.add(q);
      } while (!q.equals(p));
      if (component.size() > 1) {
        found.add(component);
      }
    }
  }
}
