package dev.loraforge.convert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad model folders fail before anything is written, with a message naming the file and the tensor. */
class ConvertErrorsTest {
    @TempDir
    Path tmp;

    private Path folder(String config) throws Exception {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config);
        return dir;
    }

    private static final String LLAMA = """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
             "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 4, "rms_norm_eps": 1e-5}""";

    @Test
    void unmappedTensorIsNamed() throws Exception {
        Path dir = folder(LLAMA);
        Map<String, long[]> shapes = Map.of("model.layers.0.mlp.experts.0.w1.weight", new long[] {16, 8});
        assertThatThrownBy(() -> HfToGguf.plan(dir, List.copyOf(shapes.keySet()), shapes::get, OutputType.F16))
                .isInstanceOf(ConvertException.class)
                .hasMessageContaining("model.layers.0.mlp.experts.0.w1.weight")
                .extracting(e -> ((ConvertException) e).kind()).isEqualTo(ConvertException.Kind.UNMAPPED_TENSOR);
    }

    @Test
    void rowsThatDoNotSplitIntoHeadsAreRejected() throws Exception {
        Path dir = folder(LLAMA);
        Map<String, long[]> shapes = Map.of("model.layers.0.self_attn.q_proj.weight", new long[] {6, 8});
        assertThatThrownBy(() -> HfToGguf.plan(dir, List.copyOf(shapes.keySet()), shapes::get, OutputType.F16))
                .isInstanceOf(ConvertException.class).hasMessageContaining("6 rows")
                .extracting(e -> ((ConvertException) e).kind()).isEqualTo(ConvertException.Kind.BAD_SHAPE);
    }

    @Test
    void missingTokenizerIsBadTokenizer() throws Exception {
        Path dir = folder(LLAMA);
        Map<String, long[]> shapes = Map.of("model.norm.weight", new long[] {8});
        assertThatThrownBy(() -> HfToGguf.plan(dir, List.copyOf(shapes.keySet()), shapes::get, OutputType.F16))
                .isInstanceOf(ConvertException.class)
                .extracting(e -> ((ConvertException) e).kind()).isEqualTo(ConvertException.Kind.BAD_TOKENIZER);
    }

    @Test
    void missingConfigFieldIsNamed() throws Exception {
        Path dir = folder("{\"architectures\": [\"LlamaForCausalLM\"], \"num_hidden_layers\": 1}");
        assertThatThrownBy(() -> HfToGguf.plan(dir, List.of(), n -> new long[0], OutputType.F16))
                .isInstanceOf(ConvertException.class).hasMessageContaining("num_attention_heads")
                .extracting(e -> ((ConvertException) e).kind()).isEqualTo(ConvertException.Kind.BAD_CONFIG);
    }

    @Test
    void outputTypesParseLikeLlamaQuantize() {
        assertThat(OutputType.parse("q4_k_m")).contains(OutputType.Q4_K_M);
        assertThat(OutputType.parse("BF16")).contains(OutputType.BF16);
        assertThat(OutputType.parse("iq2_xxs")).isEmpty();
        assertThat(OutputType.Q4_K_M.fileType()).isEqualTo(15);
        assertThat(OutputType.BF16.fileType()).isEqualTo(32);
    }
}
