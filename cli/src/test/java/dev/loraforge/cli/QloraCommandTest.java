package dev.loraforge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.io.PythonJson;
import dev.loraforge.tensor.DType;
import dev.loraforge.testing.FixtureFiles;
import dev.loraforge.testing.QloraBases;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** QLoRA bases and .bin inputs through Main.run: inspect, check, merge (16-bit and --forced-4bit), gguf. */
class QloraCommandTest {
    @TempDir
    static Path shared;
    static Path nf4;
    static Path int8;
    static Path lora;
    static Path storiesBin;

    @TempDir
    Path tmp;

    @BeforeAll
    static void bases() throws IOException {
        nf4 = QloraBases.write(QloraBases.Kind.NF4_DQ, DType.BF16, shared.resolve("nf4").resolve("tinystories-260k"));
        int8 = QloraBases.write(QloraBases.Kind.INT8, DType.F32, shared.resolve("int8").resolve("tinystories-260k"));
        lora = FixtureFiles.adapter("tinystories-260k/lora-r4", shared.resolve("lora-r4"));
        storiesBin = shared.resolve("bin").resolve("tinystories-260k");
        for (String f : List.of("config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
                "tokenizer.model", "tokenizer_config.json")) {
            FixtureFiles.copy("tinystories-260k/" + f, storiesBin.resolve(f));
        }
        FixtureFiles.copy("torch/stories260k/pytorch_model.bin", storiesBin.resolve("pytorch_model.bin"));
    }

    @Test
    void inspectReportsTheQuantization() throws IOException {
        MergeCommandTest.Run r = MergeCommandTest.run("inspect", nf4.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("bitsandbytes-quantized").contains("parameters       260,032 (260K)")
                .contains("bitsandbytes 4-bit nf4 with double quant, 35 weights, blocksize 64, dequantizes to bfloat16,"
                        + " compute dtype bfloat16, storage uint8");
        Map<String, Object> m = PythonJson.parseObject(MergeCommandTest.run("inspect", "--json", nf4.toString()).out());
        @SuppressWarnings("unchecked")
        Map<String, Object> q = (Map<String, Object>) m.get("quantization");
        assertThat(q).containsEntry("quant_type", "nf4").containsEntry("double_quant", true)
                .containsEntry("compute_dtype", "bfloat16").containsEntry("quantized_4bit_tensors", 35)
                .containsEntry("load_in_4bit", true);
        assertThat(m).containsEntry("parameters", 260032);

        Map<String, Object> i8 = PythonJson.parseObject(MergeCommandTest.run("inspect", "--json", int8.toString()).out());
        @SuppressWarnings("unchecked")
        Map<String, Object> q8 = (Map<String, Object>) i8.get("quantization");
        assertThat(q8).containsEntry("quant_type", "int8").containsEntry("load_in_8bit", true)
                .containsEntry("quantized_int8_tensors", 35);
        assertThat(MergeCommandTest.run("inspect", int8.toString()).out()).contains("bitsandbytes LLM.int8, 35 weights");
    }

    @Test
    void inspectReadsABinFolderAsItsSafetensorsTwin() throws IOException {
        Path st = FixtureFiles.stories(tmp.resolve("tinystories-260k"));
        Map<String, Object> a = PythonJson.parseObject(MergeCommandTest.run("inspect", "--json", storiesBin.toString()).out());
        Map<String, Object> b = PythonJson.parseObject(MergeCommandTest.run("inspect", "--json", st.toString()).out());
        a.remove("path");
        b.remove("path");
        assertThat(a).isEqualTo(b);
        assertThat(MergeCommandTest.run("inspect", storiesBin.toString()).out()).contains("1 PyTorch .bin file");
    }

    @Test
    void mergeTo16BitDropsTheQuantizationConfig() throws IOException {
        Path out = tmp.resolve("merged");
        MergeCommandTest.Run r = MergeCommandTest.run("merge", "--base", nf4.toString(), "--adapter", lora.toString(),
                "--out", out.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, Object> m = PythonJson.parseObject(r.out());
        assertThat(m).containsEntry("tensors_changed", 35).doesNotContainKey("requantization");
        Map<String, Object> config = PythonJson.parseObject(Files.readString(out.resolve("config.json")));
        assertThat(config).doesNotContainKey("quantization_config").containsEntry("torch_dtype", "bfloat16");
        assertThat(MergeCommandTest.run("check", "--base", nf4.toString(), "--adapter", lora.toString()).code()).isZero();
    }

    @Test
    void forced4BitReportsTheErrorAndWarns() throws IOException {
        Path out = tmp.resolve("forced");
        MergeCommandTest.Run r = MergeCommandTest.run("merge", "--base", nf4.toString(), "--adapter", lora.toString(),
                "--out", out.toString(), "--forced-4bit", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        Map<String, Object> m = PythonJson.parseObject(r.out());
        @SuppressWarnings("unchecked")
        Map<String, Object> q = (Map<String, Object>) m.get("requantization");
        assertThat(q).containsEntry("tensors_requantized", 35).containsKeys("relative_error", "delta_kept", "delta_along");
        assertThat((List<?>) q.get("per_tensor")).hasSize(35);
        // the random lora-r4 update is small against the 4-bit steps: most of it is lost
        assertThat(q).containsEntry("mostly_lost", true);
        assertThat((List<?>) m.get("warnings")).anySatisfy(w -> assertThat(w.toString()).contains("mostly lost"));
        Map<String, Object> config = PythonJson.parseObject(Files.readString(out.resolve("config.json")));
        assertThat(config).containsKey("quantization_config");
        MergeCommandTest.Run text = MergeCommandTest.run("merge", "--base", nf4.toString(), "--adapter", lora.toString(),
                "--out", tmp.resolve("forced-text").toString(), "--forced-4bit");
        assertThat(text.out()).contains("re-quantized 35 weights to 4 bits");
        assertThat(text.err()).contains("warning: re-quantizing to 4 bits keeps only");
        // the output is a bitsandbytes folder again
        assertThat(MergeCommandTest.run("inspect", out.toString()).out()).contains("bitsandbytes 4-bit nf4 with double quant");
    }

    @Test
    void forced4BitOnAnInt8BaseIsBadInput() {
        Path out = tmp.resolve("forced-int8");
        MergeCommandTest.Run r = MergeCommandTest.run("merge", "--base", int8.toString(), "--adapter", lora.toString(),
                "--out", out.toString(), "--forced-4bit");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains(int8.toString()).contains("LLM.int8");
        assertThat(out).doesNotExist();
    }

    @Test
    void ggufFromAQloraBase() throws IOException {
        Path out = tmp.resolve("qlora-q4_k_m.gguf");
        MergeCommandTest.Run r = MergeCommandTest.run("gguf", nf4.toString(), "--adapter", lora.toString(), "--type",
                "q4_k_m", "--out", out.toString());
        assertThat(r.code()).as(r.err() + r.out()).isZero();
        try (GgufFile g = GgufFile.open(out)) {
            assertThat(g.tensors()).isNotEmpty();
            assertThat(g.requireString("general.architecture")).isEqualTo("llama");
        }
        Path bin = tmp.resolve("bin-f32.gguf");
        assertThat(MergeCommandTest.run("gguf", storiesBin.toString(), "--type", "f32", "--out", bin.toString()).code())
                .isZero();
    }
}
