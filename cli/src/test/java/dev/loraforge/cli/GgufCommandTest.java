package dev.loraforge.cli;

import dev.loraforge.testing.FixtureFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code loraforge gguf} and {@code gguf-lora} end to end: exit codes, outputs, refusals. */
class GgufCommandTest {
    @TempDir
    Path tmp;

    static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    @Test
    void convertsStoriesToTheLlamaCppBytesAndWritesAModelfile() throws Exception {
        Path model = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Path out = tmp.resolve("out/stories.gguf");
        Files.createDirectories(out.getParent());
        assertThat(Main.run("gguf", model.toString(), "--type", "f16", "--out", out.toString(), "--modelfile", "--quiet"))
                .isEqualTo(ExitCodes.OK);
        assertThat(sha256(out)).isEqualTo("19b5d67306a8f75f05a18ad866aca9b112ab56ada0f2d607c55086089baaec80");
        String modelfile = Files.readString(out.resolveSibling("Modelfile"));
        assertThat(modelfile).contains("FROM ./stories.gguf").contains("PARAMETER stop \"</s>\"");
        // refuses to overwrite, then does with --overwrite
        assertThat(Main.run("gguf", model.toString(), "--type", "f32", "--out", out.toString(), "--quiet"))
                .isEqualTo(ExitCodes.USAGE);
        assertThat(Main.run("gguf", model.toString(), "--type", "f32", "--out", out.toString(), "--quiet", "--overwrite"))
                .isEqualTo(ExitCodes.OK);
        assertThat(sha256(out)).isEqualTo("f0eac5cb724e72a48739e01177602f7201f9c730ab8774aee0b4537716cc8d2f");
    }

    @Test
    void badTypeIsAUsageError() throws Exception {
        Path model = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        assertThat(Main.run("gguf", model.toString(), "--type", "q9_9", "--out", tmp.resolve("x.gguf").toString()))
                .isEqualTo(ExitCodes.USAGE);
        assertThat(tmp.resolve("x.gguf")).doesNotExist();
    }

    @Test
    void loraAdapterAndRefusals() throws Exception {
        Path base = tmp.resolve("tinystories-260k");
        FixtureFiles.stories(base);
        Path adapter = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        Path out = tmp.resolve("lora.gguf");
        assertThat(Main.run("gguf-lora", "--adapter", adapter.toString(), "--base", base.toString(), "--out", out.toString(),
                "--type", "f32", "--quiet")).isEqualTo(ExitCodes.OK);
        assertThat(out).exists();
        assertThat(Main.run("gguf", base.toString(), "--adapter", adapter.toString(), "--weight", "0.5", "--type", "bf16",
                "--out", tmp.resolve("m.gguf").toString(), "--quiet")).isEqualTo(ExitCodes.OK);
        assertThat(Main.run("gguf", base.toString(), "--adapter", adapter.toString(), "--weight", "0.5", "--weight", "1",
                "--type", "bf16", "--out", tmp.resolve("n.gguf").toString())).isEqualTo(ExitCodes.USAGE);
    }
}
