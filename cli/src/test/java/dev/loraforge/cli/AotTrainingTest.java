package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.testing.FixtureFiles;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AotTrainingTest {
    @TempDir
    Path tmp;

    /** The launcher's training run (bin/aot.sh) works on a model laid out as the bundled example, and cleans up. */
    @Test
    void everyTrainingCommandSucceedsAndItsFilesAreRemoved() throws IOException {
        Path model = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        FixtureFiles.adapter("tinystories-260k/lora-r4", model.resolve("lora-r4"));
        Path work = tmp.resolve("work");
        assertThat(AotTraining.run(model.toString(), work)).isZero();
        assertThat(work).doesNotExist();
    }
}
