package dev.loraforge.convert;

import dev.loraforge.format.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The HF → GGUF name tables, the permutation, and plan-level rules that the fixture files do not reach. */
class ArchitectureTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({
            "model.embed_tokens.weight, token_embd.weight",
            "lm_head.weight, output.weight",
            "model.norm.weight, output_norm.weight",
            "model.layers.0.input_layernorm.weight, blk.0.attn_norm.weight",
            "model.layers.12.self_attn.q_proj.weight, blk.12.attn_q.weight",
            "model.layers.3.self_attn.k_proj.bias, blk.3.attn_k.bias",
            "model.layers.3.self_attn.o_proj.weight, blk.3.attn_output.weight",
            "model.layers.7.post_attention_layernorm.weight, blk.7.ffn_norm.weight",
            "model.layers.7.mlp.down_proj.weight, blk.7.ffn_down.weight",
            "model.layers.1.self_attn.q_norm.weight, blk.1.attn_q_norm.weight"})
    void llamaNames(String hf, String gguf) {
        assertThat(Architecture.LLAMA.ggufTensorName(hf)).contains(gguf);
    }

    @Test
    void unknownTensorsAreNotMapped() {
        assertThat(Architecture.LLAMA.ggufTensorName("model.layers.0.mlp.experts.0.w1.weight")).isEmpty();
        assertThat(Architecture.LLAMA.ggufTensorName("vision_tower.weight")).isEmpty();
        assertThat(Architecture.skipped("model.layers.0.self_attn.rotary_emb.inv_freq")).isTrue();
    }

    /** numpy reference: w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols). */
    @Test
    void permutationIsLlamaModelPermute() {
        int nHead = 4;
        int rows = 16;
        int half = rows / nHead / 2;
        for (int r = 0; r < rows; r++) {
            int h = r / (2 * half);
            int i = (r % (2 * half)) / 2;
            int j = r % 2;
            assertThat(TensorEncoder.sourceRow(r, rows, nHead)).isEqualTo((long) h * 2 * half + j * half + i);
        }
        assertThat(Architecture.LLAMA.permuteHeads("model.layers.0.self_attn.k_proj.weight", 8, 4)).isEqualTo(4);
        assertThat(Architecture.LLAMA.permuteHeads("model.layers.0.self_attn.q_proj.weight", 8, 4)).isEqualTo(8);
        assertThat(Architecture.QWEN2.permuteHeads("model.layers.0.self_attn.q_proj.weight", 8, 4)).isZero();
    }

    @Test
    void qwen3PlanHasNoLlamaOnlyKeysAndKeepsBiasesF32() throws Exception {
        Path dir = tmp.resolve("Qwen3-0.6B");
        Files.createDirectories(dir);
        for (String f : List.of("tokenizer.model", "tokenizer_config.json", "tokenizer.json")) {
            Files.copy(GgufListing.fixture("tinystories-260k/" + f), dir.resolve(f));
        }
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["Qwen3ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                 "vocab_size": 512, "max_position_embeddings": 4096, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
                 "tie_word_embeddings": true}""");
        Map<String, long[]> shapes = Map.of(
                "model.embed_tokens.weight", new long[] {512, 64},
                "model.layers.0.self_attn.q_proj.weight", new long[] {64, 64},
                "model.layers.0.self_attn.q_proj.bias", new long[] {64},
                "model.layers.0.self_attn.q_norm.weight", new long[] {16},
                "model.norm.weight", new long[] {64});
        List<String> order = shapes.keySet().stream().sorted().toList();
        HfToGguf.Plan plan = HfToGguf.plan(dir, order, shapes::get, OutputType.F16);
        assertThat(plan.kv("general.architecture")).map(MetaKv::value).contains("qwen3");
        assertThat(plan.kv("qwen3.vocab_size")).isEmpty();
        assertThat(plan.kv("qwen3.rope.freq_base")).map(MetaKv::value).contains(1000000.0f);
        assertThat(plan.kv("general.name")).map(MetaKv::value).contains("Qwen3 0.6B");
        // 0.6B is far from the 37K parameters here, so gguf-py calls it a finetune (a "context length") and counts
        assertThat(plan.kv("general.finetune")).map(MetaKv::value).contains("0.6b");
        assertThat(plan.kv("general.size_label")).map(MetaKv::value).contains("37K");
        Map<String, GgmlType> types = new java.util.HashMap<>();
        plan.tensors().forEach(t -> types.put(t.name(), t.type()));
        assertThat(types).containsEntry("blk.0.attn_q.weight", GgmlType.F16).containsEntry("blk.0.attn_q.bias", GgmlType.F32)
                .containsEntry("blk.0.attn_q_norm.weight", GgmlType.F32).containsEntry("token_embd.weight", GgmlType.F16);
    }

    /** GemmaModel's own rules: its parameter keys in its order, FIM ids, no space prefix, lm_head dropped, norms + 1. */
    @Test
    void gemmaPlan() throws Exception {
        Path dir = tmp.resolve("gemma-2b");
        Files.createDirectories(dir);
        for (String f : List.of("tokenizer.model", "tokenizer_config.json", "tokenizer.json")) {
            Files.copy(GgufListing.fixture("tinystories-260k/" + f), dir.resolve(f));
        }
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["GemmaForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "head_dim": 16,
                 "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 512,
                 "max_position_embeddings": 8192, "rms_norm_eps": 1e-06, "rope_theta": 10000.0}""");
        Map<String, long[]> shapes = Map.of("lm_head.weight", new long[] {512, 64}, "model.embed_tokens.weight", new long[] {512, 64},
                "model.norm.weight", new long[] {64});
        HfToGguf.Plan plan = HfToGguf.plan(dir, shapes.keySet().stream().sorted().toList(), shapes::get, OutputType.F16);
        assertThat(plan.kvs().stream().map(MetaKv::key).toList()).containsSubsequence("general.size_label",
                "gemma.context_length", "gemma.embedding_length", "gemma.block_count", "gemma.feed_forward_length",
                "gemma.attention.head_count", "gemma.attention.head_count_kv", "gemma.attention.layer_norm_rms_epsilon",
                "gemma.attention.key_length", "gemma.attention.value_length", "general.file_type",
                "general.quantization_version", "tokenizer.ggml.model", "tokenizer.ggml.prefix_token_id",
                "tokenizer.ggml.suffix_token_id", "tokenizer.ggml.middle_token_id", "tokenizer.ggml.eot_token_id",
                "tokenizer.ggml.add_space_prefix");
        assertThat(plan.kv("gemma.rope.freq_base")).isEmpty();
        assertThat(plan.tensors()).extracting(HfToGguf.PlannedTensor::name).containsExactly("token_embd.weight", "output_norm.weight");
        assertThat(plan.tensors().get(1).shift()).isEqualTo(1f);
    }

    @Test
    void unsupportedArchitectureIsNamed() throws Exception {
        Path dir = tmp.resolve("m");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"GPTNeoXForCausalLM\"]}");
        assertThatThrownBy(() -> HfToGguf.plan(dir, List.of(), n -> new long[0], OutputType.F16))
                .isInstanceOf(ConvertException.class).hasMessageContaining("GPTNeoXForCausalLM")
                .extracting(e -> ((ConvertException) e).kind()).isEqualTo(ConvertException.Kind.UNSUPPORTED_ARCHITECTURE);
    }
}
