package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.format.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** convert-bin on the real torch-written fixtures gives the safetensors twin's tensors, and refuses hostile files. */
class ConvertBinCommandTest {

    /** Copies a fixture out of core's test jar (or test-classes) into {@code dir}. */
    static Path fixture(Path dir, String rel) throws Exception {
        Path target = dir.resolve("fixtures").resolve(rel);
        Files.createDirectories(target.getParent());
        try (var in = ConvertBinCommandTest.class.getResourceAsStream("/fixtures/" + rel)) {
            assertThat(in).as(rel).isNotNull();
            Files.copy(in, target);
        }
        return target;
    }

    @Test
    void shardedModelConvertsToTheTwin(@TempDir Path tmp) throws Exception {
        Path in = fixture(tmp, "torch/sharded/pytorch_model.bin.index.json").getParent();
        fixture(tmp, "torch/sharded/pytorch_model-00001-of-00002.bin");
        fixture(tmp, "torch/sharded/pytorch_model-00002-of-00002.bin");
        Path out = tmp.resolve("out");
        assertThat(Main.run("convert-bin", in.toString(), "--out", out.toString())).isEqualTo(ExitCodes.OK);
        try (SafetensorsFile got = SafetensorsFile.open(out.resolve("model.safetensors"));
                SafetensorsFile twin = SafetensorsFile.open(fixture(tmp, "tinystories-260k/model.safetensors"))) {
            assertThat(got.names()).containsExactlyInAnyOrderElementsOf(twin.names());
            for (String n : twin.names()) {
                assertThat(got.get(n).dtype()).isEqualTo(twin.get(n).dtype());
                assertThat(got.get(n).shape()).isEqualTo(twin.get(n).shape());
                assertThat(got.get(n).data().mismatch(twin.get(n).data())).as(n).isEqualTo(-1);
            }
        }
        assertThat(out.resolve(".loraforge-tmp-model.safetensors")).doesNotExist();
        // a second run does not overwrite without --force
        assertThat(Main.run("convert-bin", in.toString(), "--out", out.toString())).isEqualTo(ExitCodes.USAGE);
        assertThat(Main.run("convert-bin", in.toString(), "--out", out.toString(), "--force")).isEqualTo(ExitCodes.OK);
    }

    @Test
    void adapterFileConvertsToAdapterSafetensors(@TempDir Path tmp) throws Exception {
        Path in = fixture(tmp, "torch/stories260k-lora-r4/adapter_model.bin");
        Path out = tmp.resolve("out");
        assertThat(Main.run("convert-bin", in.toString(), "--out", out.toString())).isEqualTo(ExitCodes.OK);
        try (SafetensorsFile got = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            assertThat(got.names()).hasSize(70);
        }
    }

    @Test
    void hostileCheckpointIsBadInputAndWritesNothing(@TempDir Path tmp) throws Exception {
        Path in = fixture(tmp, "torch/hostile/os_system-p2.bin");
        Path out = tmp.resolve("out");
        assertThat(Main.run("convert-bin", in.toString(), "--out", out.toString())).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(out).doesNotExist();
        assertThat(Path.of("loraforge-pwned-os_system")).doesNotExist();
    }
}
