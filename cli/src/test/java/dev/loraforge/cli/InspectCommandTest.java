package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.io.PythonJson;
import dev.loraforge.testing.FixtureFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** loraforge inspect through Main.run: the facts of the bundled model and adapter, and one-line errors. */
class InspectCommandTest {
    @TempDir
    static Path shared;
    static Path stories;
    static Path lora;

    @TempDir
    Path tmp;

    @BeforeAll
    static void model() {
        stories = FixtureFiles.stories(shared.resolve("tinystories-260k"));
        lora = FixtureFiles.adapter("tinystories-260k/lora-r4", shared.resolve("lora-r4"));
    }

    @Test
    void modelFactsAreExact() throws IOException {
        MergeCommandTest.Run r = MergeCommandTest.run("inspect", stories.toString());
        assertThat(r.code()).isZero();
        // 512·64 embedding + 5 layers × (4096+2048+2048+4096 + 3·11008 + 2·64) + 64 final norm
        assertThat(r.out()).contains("parameters       260,032 (260K)")
                .contains("layers           5")
                .contains("attention heads  8 (4 KV heads, head dim 8)")
                .contains("tied embeddings  yes")
                .contains("merged 16-bit safetensors");
        MergeCommandTest.Run j = MergeCommandTest.run("inspect", "--json", stories.toString());
        Map<String, Object> m = PythonJson.parseObject(j.out());
        assertThat(m).containsEntry("parameters", 260032).containsEntry("num_hidden_layers", 5)
                .containsEntry("vocab_size", 512).containsEntry("tied_embeddings", true);
    }

    @Test
    void adapterFacts() throws IOException {
        MergeCommandTest.Run r = MergeCommandTest.run("inspect", lora.toString());
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("r                4").contains("lora_alpha       8 (scale 2, α/r)")
                .contains("LoRA modules     35");
        Map<String, Object> m = PythonJson.parseObject(MergeCommandTest.run("inspect", "--json",
                lora.toString()).out());
        assertThat(m).containsEntry("r", 4).containsEntry("use_rslora", false).containsEntry("lora_modules", 35);
    }

    @Test
    void mergeFindsTheBaseTheAdapterSitsIn() throws IOException {
        // the bundled example: examples/tinystories-260k/lora-r4 names its base "tinystories-260k"
        Path base = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path nested = FixtureFiles.adapter("tinystories-260k/lora-r4", base.resolve("lora-r4"));
        Path out = tmp.resolve("merged");
        MergeCommandTest.Run r = MergeCommandTest.run("merge", "--adapter", nested.toString(), "--out", out.toString(), "--quiet");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(out.resolve("model.safetensors")).exists();
    }

    @Test
    void missingPathIsBadInput() {
        MergeCommandTest.Run r = MergeCommandTest.run("inspect", tmp.resolve("nope").toString());
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("nope: no such file or folder").doesNotContain("Exception");
    }

    @Test
    void folderThatIsNotAModel() throws IOException {
        Files.writeString(tmp.resolve("notes.txt"), "hello");
        MergeCommandTest.Run r = MergeCommandTest.run("inspect", tmp.toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err().lines().count()).isEqualTo(1);
        assertThat(r.err()).contains(tmp.toString());
    }

    @Test
    void truncatedSafetensorsIsBadInputInOneLine() throws IOException {
        Path f = tmp.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(stories.resolve("model.safetensors"));
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 100));
        MergeCommandTest.Run r = MergeCommandTest.run("inspect", f.toString());
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err().lines().count()).isEqualTo(1);
        assertThat(r.err()).contains("model.safetensors").doesNotContain("at dev.");
    }

    @Test
    void hostileHeaderLengthIsBadInput() throws IOException {
        Path f = tmp.resolve("evil.safetensors");
        byte[] b = new byte[16];
        b[0] = (byte) 0xFF;
        b[1] = (byte) 0xFF;
        b[2] = (byte) 0xFF;
        b[3] = (byte) 0x7F;
        Files.write(f, b);
        MergeCommandTest.Run r = MergeCommandTest.run("inspect", f.toString());
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("evil.safetensors");
    }

    @Test
    void unknownOptionIsUsage() {
        assertThat(MergeCommandTest.run("inspect", "--bogus", stories.toString()).code()).isEqualTo(ExitCodes.USAGE);
    }
}
