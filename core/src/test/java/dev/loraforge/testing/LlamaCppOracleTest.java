package dev.loraforge.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The oracle's plumbing without Node: a missing program is a clear failure, never a skip. */
class LlamaCppOracleTest {

    @Test
    void findsTheNodeFolderWithItsLockFile() {
        assertThat(LlamaCppOracle.dir().resolve("oracle.mjs")).isRegularFile();
        assertThat(LlamaCppOracle.dir().resolve("package-lock.json")).isRegularFile();
    }

    @Test
    void missingProgramFailsWithInstructions() {
        assertThatThrownBy(() -> LlamaCppOracle.command(LlamaCppOracle.dir(), 5, "loraforge-no-such-program-42"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Node.js >= 20 and npm on the PATH")
                .hasMessageContaining(LlamaCppOracle.NODE_LLAMA_CPP_VERSION);
    }

    @Test
    void failingCommandReportsExitCodeAndStderr() {
        assertThatThrownBy(() -> LlamaCppOracle.command(LlamaCppOracle.dir(), 5, "sh", "-c", "echo boom >&2; exit 3"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("exited with 3")
                .hasMessageContaining("boom");
    }

    @Test
    void hangingCommandIsKilledAtTheTimeout() {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> LlamaCppOracle.command(LlamaCppOracle.dir(), 1, "sleep", "30"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("did not finish in 1 s");
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(15);
        assertThat(Files.isDirectory(LlamaCppOracle.dir())).isTrue();
    }
}
