package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Command;

/** The command line builds only the subcommand it runs, and every one when it must list or suggest them. */
class MainTest {

    @Test
    void aNamedCommandAloneIsBuilt() {
        assertThat(Main.commandsFor(List.of("merge", "--adapter", "x"))).containsExactly(MergeCommand.class);
        assertThat(Main.commandsFor(List.of("gguf-lora"))).containsExactly(GgufLoraCommand.class);
    }

    @Test
    void helpVersionAndTyposGetThemAll() {
        assertThat(Main.commandsFor(List.of())).isEqualTo(Main.COMMANDS);
        assertThat(Main.commandsFor(List.of("--help"))).isEqualTo(Main.COMMANDS);
        assertThat(Main.commandsFor(List.of("mrege"))).isEqualTo(Main.COMMANDS);
    }

    @Test
    void namesAreDistinct() {
        assertThat(Main.COMMANDS.stream().map(c -> c.getAnnotation(Command.class).name())).doesNotHaveDuplicates()
                .hasSize(10);
    }

    @Test
    void theFullHelpStillListsEveryCommand() {
        MergeCommandTest.Run r = MergeCommandTest.run("--help");
        assertThat(r.code()).isZero();
        for (Class<?> c : Main.COMMANDS) {
            assertThat(r.out()).contains("  " + c.getAnnotation(Command.class).name() + " ");
        }
    }
}
