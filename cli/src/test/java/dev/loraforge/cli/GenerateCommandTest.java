package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.testing.FixtureFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void greedyFromPromptContinuesTheStory() {
        Path dir = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Run r = run("generate", dir.toString(), "-p", "Once upon a time", "-n", "60");
        assertThat(r.code()).as(r.err()).isZero();
        // the float64 reference's greedy text from BOS (its first 5 tokens are the prompt)
        assertThat(r.out()).isEqualTo("Once upon a time, there was a little girl named Lily. She loved to play outside"
                + " in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily\n");
        assertThat(r.err()).contains("5 prompt + 60 generated tokens");
    }

    @Test
    void idsInIdsOut() {
        Path dir = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Run r = run("generate", dir.toString(), "--ids", "1,403,407,261,378", "-n", "3", "--print-ids");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("432 383 286\n");
        Run inPlace = run("generate", dir.toString(), "--ids", "1,403,407,261,378", "-n", "3", "--print-ids", "--in-place");
        assertThat(inPlace.out()).isEqualTo("432 383 286\n");
        // the warm-up pass at load leaves no trace in what is generated; the decode rate follows the all-tokens rate
        Run cold = run("generate", dir.toString(), "--ids", "1,403,407,261,378", "-n", "3", "--print-ids", "--no-warmup");
        assertThat(cold.out()).isEqualTo("432 383 286\n");
        assertThat(r.err()).containsPattern("5 prompt \\+ 3 generated tokens in [0-9.]+ s \\([0-9.]+ tokens/s; [0-9.]+ tokens/s after the first\\)");
    }

    @Test
    void unmergedAdapterGeneratesLikeTheMergedModelAndBadOptionsAreUsageErrors() {
        Path dir = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        Path merged = FixtureFiles.stories(tmp.resolve("merged"));
        FixtureFiles.copy("tinystories-260k/lora-r4-merged/model.safetensors", tmp.resolve("merged.safetensors"));
        try {
            java.nio.file.Files.move(tmp.resolve("merged.safetensors"), merged.resolve("model.safetensors"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Run tuned = run("generate", dir.toString(), "--ids", "1", "-n", "48", "--print-ids", "--adapter", lora.toString());
        Run reference = run("generate", merged.toString(), "--ids", "1", "-n", "48", "--print-ids");
        assertThat(tuned.code()).as(tuned.err()).isZero();
        assertThat(tuned.out()).isEqualTo(reference.out()).hasLineCount(1);
        assertThat(run("generate", dir.toString(), "--top-p", "0").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(run("generate", dir.toString(), "-p", "x", "--ids", "1").code()).isEqualTo(ExitCodes.USAGE);
        assertThat(run("generate", tmp.resolve("nope").toString()).code()).isEqualTo(ExitCodes.BAD_INPUT);
    }

    @Test
    void ggufFileWithItsOwnTokenizer() {
        Path gguf = FixtureFiles.copy("tinystories-260k/gguf/stories260k-f32.gguf", tmp.resolve("stories260k-f32.gguf"));
        Run r = run("generate", gguf.toString(), "-p", "Once upon a time", "-n", "12");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("Once upon a time, there was a little girl named Lily. She\n");
    }
}
