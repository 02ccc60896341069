package dev.loraforge.convert;

import dev.loraforge.format.gguf.GgufFile;
import dev.loraforge.format.gguf.GgufTensor;
import dev.loraforge.tensor.TensorView;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** PEFT adapters → GGUF LoRA, against convert_lora_to_gguf.py's files. */
class LoraToGgufTest {
    @TempDir
    Path tmp;

    static Path base() {
        return GgufListing.fixture("tiny-llama-v512");
    }

    @ParameterizedTest
    @CsvSource({"F16, tiny-llama-v512-lora-r8-f16.gguf", "F32, tiny-llama-v512-lora-r8-f32.gguf"})
    void plainLoraIsByteIdenticalToConvertLoraToGguf(LoraToGguf.LoraType type, String expected) throws Exception {
        Path out = tmp.resolve("out.gguf");
        LoraToGguf.Summary s = LoraToGguf.convert(base().resolve("lora-r8"), base(), out, type, false);
        assertThat(s.scalesFolded()).isFalse();
        GgufListing listing = GgufListing.read("tiny-llama-v512/gguf/" + expected + ".json");
        assertThat(listing.diff(out, Set.of())).isEmpty();
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(base().resolve("gguf/" + expected)));
    }

    /**
     * rsLoRA + alpha_pattern + rank_pattern: lora_a as llama.cpp writes it; lora_b carries each module's true
     * scale so that llama.cpp's alpha / rank gives PEFT's scaling (q,v 16/√16 = 4, o 32/√16 = 8, down 16/√4 = 8).
     */
    @Test
    void rsLoraScalesAreFoldedIntoLoraB() throws Exception {
        Path out = tmp.resolve("rs.gguf");
        LoraToGguf.Summary s = LoraToGguf.convert(base().resolve("lora-rslora-patterns"), base(), out,
                LoraToGguf.LoraType.F32, false);
        assertThat(s.scalesFolded()).isTrue();
        Map<String, Double> peftScale = Map.of("attn_q", 4.0, "attn_v", 4.0, "attn_output", 8.0, "ffn_down", 8.0);
        try (GgufFile ours = GgufFile.open(out);
             GgufFile theirs = GgufFile.open(base().resolve("gguf/tiny-llama-v512-lora-rslora-patterns-f32.gguf"))) {
            double alpha = ours.requireDouble("adapter.lora.alpha");
            assertThat(ours.tensors()).hasSameSizeAs(theirs.tensors());
            for (GgufTensor t : theirs.tensors()) {
                GgufTensor o = ours.tensor(t.name());
                TensorView a = t.view();
                TensorView b = o.view();
                if (t.name().endsWith(".lora_a")) {
                    assertThat(b.data().mismatch(a.data())).isEqualTo(-1L);
                    continue;
                }
                String kind = t.name().split("\\.")[2];
                long rank = t.dims()[0];
                double factor = peftScale.get(kind) * rank / alpha; // runtime alpha/rank × factor = PEFT scale
                for (long i = 0; i < a.elementCount(); i++) {
                    assertThat(b.getFloat(i)).isEqualTo((float) (a.getDouble(i) * factor));
                }
            }
        }
    }

    @Test
    void q8LoraFallsBackToF16WhereRowsAreShorterThanABlock() throws Exception {
        Path out = tmp.resolve("q8.gguf");
        LoraToGguf.convert(base().resolve("lora-r8"), base(), out, LoraToGguf.LoraType.Q8_0, false);
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.tensor("blk.0.attn_q.weight.lora_a").type()).isEqualTo(dev.loraforge.format.gguf.GgmlType.Q8_0);
            assertThat(f.tensor("blk.0.attn_q.weight.lora_b").type()).isEqualTo(dev.loraforge.format.gguf.GgmlType.F16);
        }
    }

    @Test
    void doraAndModulesToSaveAreRefusedWithAdviceToMerge() {
        for (String name : new String[] {"lora-dora", "lora-modules-to-save"}) {
            assertThatThrownBy(() -> LoraToGguf.convert(base().resolve(name), base(), tmp.resolve(name + ".gguf"),
                    LoraToGguf.LoraType.F16, false))
                    .isInstanceOf(ConvertException.class)
                    .hasMessageContaining("merge it into the base instead");
            assertThat(tmp.resolve(name + ".gguf")).doesNotExist();
        }
    }
}
