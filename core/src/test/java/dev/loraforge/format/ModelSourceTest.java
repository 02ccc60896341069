package dev.loraforge.format;

import dev.loraforge.io.Progress;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.convert.HfToGguf;
import dev.loraforge.convert.OutputType;
import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufTensor;
import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.format.safetensors.SafetensorsException;
import dev.loraforge.merge.ModelMerger;
import dev.loraforge.tensor.DType;
import dev.loraforge.testing.FixtureFiles;
import dev.loraforge.testing.QloraBases;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * One way to open a model folder: the torch-written {@code .bin} twins of stories260K and its lora-r4 adapter
 * (test resources made by torch.save) read, merge and convert exactly as the safetensors twins; a bitsandbytes
 * base converts to GGUF in one pass exactly as its 16-bit merge does.
 */
class ModelSourceTest {
    @TempDir
    static Path tmp;
    static Path stories;
    static Path storiesBin;
    static Path lora;
    static Path loraBin;

    @BeforeAll
    static void twins() throws IOException {
        stories = FixtureFiles.stories(tmp.resolve("st").resolve("tinystories-260k"));
        storiesBin = tmp.resolve("bin").resolve("tinystories-260k");
        Files.createDirectories(storiesBin);
        try (var files = Files.list(stories)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("model.safetensors")) {
                    Files.copy(f, storiesBin.resolve(f.getFileName()));
                }
            }
        }
        FixtureFiles.copy("torch/stories260k/pytorch_model.bin", storiesBin.resolve("pytorch_model.bin"));
        lora = FixtureFiles.adapter("tinystories-260k/lora-r4", tmp.resolve("lora-r4"));
        loraBin = tmp.resolve("lora-r4-bin");
        FixtureFiles.copy("tinystories-260k/lora-r4/adapter_config.json", loraBin.resolve("adapter_config.json"));
        FixtureFiles.copy("torch/stories260k-lora-r4/adapter_model.bin", loraBin.resolve("adapter_model.bin"));
    }

    @Test
    void binTwinReadsAsTheSafetensorsTwin() throws IOException {
        try (ModelSource bin = ModelSource.open(storiesBin); ModelSource st = ModelSource.open(stories)) {
            assertThat(bin.storage()).isEqualTo(ModelSource.Storage.PYTORCH_BIN);
            assertThat(st.storage()).isEqualTo(ModelSource.Storage.SAFETENSORS);
            assertThat(bin.quantized()).isFalse();
            assertThat(bin.fileNames()).containsExactly("pytorch_model.bin");
            assertThat(bin.names()).containsExactlyInAnyOrderElementsOf(st.names());
            for (String n : st.names()) {
                assertThat(bin.get(n).dtype()).isEqualTo(st.get(n).dtype());
                assertThat(bin.get(n).shape()).isEqualTo(st.get(n).shape());
                assertThat(bytes(bin, n)).as(n).isEqualTo(bytes(st, n));
            }
        }
    }

    @Test
    void binBaseAndBinAdapterMergeAsTheSafetensorsTwins() throws IOException {
        Path a = merge(stories, lora, tmp.resolve("merged-st"));
        Path b = merge(storiesBin, loraBin, tmp.resolve("merged-bin"));
        try (ModelFiles ma = ModelFiles.open(a); ModelFiles mb = ModelFiles.open(b);
             ModelFiles ref = ModelFiles.open(Path.of(fixtureUri("tinystories-260k/lora-r4-merged/model.safetensors")))) {
            assertThat(mb.names()).containsExactlyInAnyOrderElementsOf(ma.names());
            for (String n : ma.names()) {
                assertThat(bytes(mb, n)).as(n).isEqualTo(bytes(ma, n));
                assertThat(bytes(mb, n)).as(n + " vs the float64 reference merge").isEqualTo(bytes(ref, n));
            }
        }
        assertThat(Files.readString(b.resolve("loraforge.json"))).contains("adapter_model.bin_sha256");
    }

    @Test
    void shardedBinMergesAndConvertsAsTheSafetensorsTwin() throws IOException {
        Path sharded = tmp.resolve("sharded").resolve("tinystories-260k");
        for (String f : List.of("config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
                "tokenizer.model", "tokenizer_config.json")) {
            FixtureFiles.copy("tinystories-260k/" + f, sharded.resolve(f));
        }
        for (String f : List.of("pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin",
                "pytorch_model-00002-of-00002.bin")) {
            FixtureFiles.copy("torch/sharded/" + f, sharded.resolve(f));
        }
        try (ModelSource s = ModelSource.open(sharded)) {
            assertThat(s.fileNames()).containsExactly("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin");
            assertThat(s.namesByFile().values().stream().mapToInt(List::size).sum()).isEqualTo(s.names().size());
        }
        Path a = merge(stories, lora, tmp.resolve("sharded-merged-st"));
        Path b = merge(sharded, loraBin, tmp.resolve("sharded-merged-bin"));
        try (ModelFiles ma = ModelFiles.open(a); ModelFiles mb = ModelFiles.open(b)) {
            assertThat(mb.names()).containsExactlyInAnyOrderElementsOf(ma.names());
            for (String n : ma.names()) {
                assertThat(bytes(mb, n)).as(n).isEqualTo(bytes(ma, n));
            }
        }
        Path ga = tmp.resolve("sharded-st.gguf");
        Path gb = tmp.resolve("sharded-bin.gguf");
        HfToGguf.convert(stories, List.of(), ga, OutputType.F16, false);
        HfToGguf.convert(sharded, List.of(), gb, OutputType.F16, false);
        assertSameTensors(ga, gb);
    }

    @ParameterizedTest(name = "{0} with adapter {1}")
    @CsvSource({"F32, false", "Q4_K_M, true"})
    void binTwinsConvertToTheSameGguf(OutputType type, boolean withAdapter) throws IOException {
        Path ga = tmp.resolve("st-" + type + withAdapter + ".gguf");
        Path gb = tmp.resolve("bin-" + type + withAdapter + ".gguf");
        HfToGguf.convert(stories, withAdapter ? List.of(new HfToGguf.AdapterSpec(lora, 1.0)) : List.of(), ga, type, false);
        HfToGguf.convert(storiesBin, withAdapter ? List.of(new HfToGguf.AdapterSpec(loraBin, 1.0)) : List.of(), gb, type,
                false);
        assertSameTensors(ga, gb);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"NF4_DQ, F32", "FP4, BF16", "INT8, F32"})
    void quantizedBaseConvertsInOnePassAsItsMerge(QloraBases.Kind kind, DType dtype) throws IOException {
        Path base = QloraBases.write(kind, dtype, tmp.resolve("q-" + kind).resolve("tinystories-260k"));
        Path oneStep = tmp.resolve("q-" + kind + ".gguf");
        HfToGguf.convert(base, List.of(new HfToGguf.AdapterSpec(lora, 1.0)), oneStep, OutputType.Q4_K_M, false);
        // two steps: merge to the dequantized dtype, then convert that folder
        Path merged = tmp.resolve("q-merged-" + kind).resolve("tinystories-260k");
        Files.createDirectories(merged.getParent());
        ModelMerger.merge(new ModelMerger.Request(base, List.of(lora), List.of(1.0), merged, dtype,
                ModelMerger.DEFAULT_MAX_SHARD_BYTES, false, List.of("test")), Progress.NONE);
        Path twoStep = tmp.resolve("q-2-" + kind + ".gguf");
        HfToGguf.convert(merged, List.of(), twoStep, OutputType.Q4_K_M, false);
        assertSameTensors(oneStep, twoStep);
    }

    @Test
    void dequantizedWeightsSpillToAScratchFileDeletedOnClose() throws IOException {
        Path base = QloraBases.write(QloraBases.Kind.NF4_DQ, DType.F32, tmp.resolve("spill").resolve("tinystories-260k"));
        Path scratch = Files.createDirectories(tmp.resolve("scratch"));
        try (ModelSource heap = ModelSource.open(base); ModelSource spilled = ModelSource.open(base, scratch)) {
            String w = "model.layers.0.mlp.down_proj.weight";
            assertThat(spilled.get(w).data().isMapped()).isTrue();
            assertThat(heap.get(w).data().isMapped()).isFalse();
            assertThat(spilled.get(w)).isSameAs(spilled.get(w));
            for (String n : heap.names()) {
                assertThat(bytes(spilled, n)).as(n).isEqualTo(bytes(heap, n));
            }
        } // (on Linux the JDK unlinks a DELETE_ON_CLOSE file as soon as it is open: nothing leaks even on a crash)
        try (var files = Files.list(scratch)) {
            assertThat(files.count()).isZero();
        }
    }

    @Test
    void aFolderWithoutWeightsNamesWhatItLookedFor() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> ModelSource.open(empty)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(empty.toString()).hasMessageContaining("pytorch_model.bin");
    }

    static Path merge(Path base, Path adapter, Path out) throws IOException {
        return ModelMerger.merge(new ModelMerger.Request(base, List.of(adapter), List.of(1.0), out, null,
                ModelMerger.DEFAULT_MAX_SHARD_BYTES, false, List.of("test")), Progress.NONE).out();
    }

    static void assertSameTensors(Path a, Path b) throws IOException {
        try (GgufFile fa = GgufFile.open(a); GgufFile fb = GgufFile.open(b)) {
            assertThat(fb.tensors()).hasSameSizeAs(fa.tensors());
            for (GgufTensor t : fa.tensors()) {
                GgufTensor u = fb.tensor(t.name());
                assertThat(u.type()).as(t.name()).isEqualTo(t.type());
                assertThat(u.dims()).as(t.name()).containsExactly(t.dims());
                assertThat(u.data().toArray(ValueLayout.JAVA_BYTE)).as(t.name()).isEqualTo(t.data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    static byte[] bytes(dev.loraforge.tensor.TensorSource s, String n) {
        return s.get(n).data().toArray(ValueLayout.JAVA_BYTE);
    }

    static java.net.URI fixtureUri(String rel) {
        try {
            return ModelSourceTest.class.getResource("/fixtures/" + rel).toURI();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
