package io.safedefaults.microapp.cli;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The shard flags are checked together before the operator talks to any cluster: a combination
 * that could leave namespaces managed twice or by nobody stops the start with one line.
 */
class ShardFlagsTest {
  private static void run(String... args) throws Exception {
    RunCommand command = new RunCommand();
    new CommandLine(command).parseArgs(args);
    command.call();
  }

  @Test
  void nameAndSelectorGoTogether() {
    assertThatThrownBy(() -> run("--leader-election-namespace", "microapp-system", "--shard-name", "a"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--shard-name and --shard-selector go together");
    assertThatThrownBy(() -> run("--leader-election-namespace", "microapp-system", "--shard-selector", "team=food"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--shard-name and --shard-selector go together");
  }

  @Test
  void aShardNeedsLeaderElectionBecauseOthersReadItsLease() {
    assertThatThrownBy(() -> run("--no-leader-election", "--shard-name", "a", "--shard-selector", "team=food"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--shard-name needs leader election").hasMessageContaining("remove --no-leader-election");
  }

  @Test
  void aShardsNamespacesComeFromItsSelectorNotFromANamespaceList() {
    assertThatThrownBy(() -> run("--leader-election-namespace", "microapp-system", "--shard-name", "a",
        "--shard-selector", "team=food", "--namespaces", "team-food"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--namespaces and --shard-selector exclude each other");
  }

  @Test
  void aBadNameIsRefusedBeforeAnyClusterIsContacted() {
    assertThatThrownBy(() -> run("--leader-election-namespace", "microapp-system", "--shard-name", "Shard_A",
        "--shard-selector", "team=food"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--shard-name 'Shard_A' is not usable");
  }
}
