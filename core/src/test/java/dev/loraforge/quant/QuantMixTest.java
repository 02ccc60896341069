package dev.loraforge.quant;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.format.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Oracle: the tensor types llama-quantize chose in the tiny-llama-v512 fixture files (their listings). */
class QuantMixTest {
    private static final String DIR = "/fixtures/tiny-llama-v512/gguf/";

    @SuppressWarnings("unchecked")
    private static Map<String, Object> listing(String suffix) throws IOException {
        try (InputStream in = QuantMixTest.class.getResourceAsStream(DIR + "tiny-llama-v512-" + suffix + ".gguf.json")) {
            assertThat(in).as("listing %s", suffix).isNotNull();
            return JSON.std.mapFrom(in);
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> tensors(Map<String, Object> l) {
        return (List<Map<String, Object>>) l.get("tensors");
    }

    @SuppressWarnings("unchecked")
    private static long kvInt(Map<String, Object> l, String key) {
        for (Map<String, Object> kv : (List<Map<String, Object>>) l.get("kv")) {
            if (kv.get("key").equals(key)) {
                return ((Number) kv.get("value")).longValue();
            }
        }
        throw new AssertionError("no KV " + key);
    }

    @SuppressWarnings("unchecked")
    private static long[] ne(Map<String, Object> t) {
        return ((List<Number>) t.get("ne")).stream().mapToLong(Number::longValue).toArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"f32", "f16", "bf16", "q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_0", "q4_1", "q4_k_s", "q4_k_m",
            "q5_0", "q5_1", "q5_k_s", "q5_k_m", "q6_k", "q8_0"})
    void everyTensorGetsTheTypeLlamaQuantizeChose(String suffix) throws IOException {
        // llama-quantize read the F16 conversion: its types are the source types
        Map<String, Object> source = listing("f16");
        Map<String, Object> result = listing(suffix);
        LlamaFileType ftype = LlamaFileType.parse(suffix);
        assertThat(ftype.id()).as("general.file_type").isEqualTo(kvInt(result, "general.file_type"));
        var hp = new QuantMix.ModelParams((int) kvInt(source, "llama.block_count"),
                (int) kvInt(source, "llama.attention.head_count"), (int) kvInt(source, "llama.attention.head_count_kv"), 0);
        List<QuantMix.Tensor> in = new ArrayList<>();
        for (Map<String, Object> t : tensors(source)) {
            in.add(new QuantMix.Tensor((String) t.get("name"), ne(t), GgmlType.valueOf((String) t.get("ggml_type"))));
        }
        QuantMix.Plan plan = QuantMix.plan(in, hp, ftype);
        Map<String, String> want = new LinkedHashMap<>();
        for (Map<String, Object> t : tensors(result)) {
            want.put((String) t.get("name"), (String) t.get("ggml_type"));
        }
        Map<String, String> got = new LinkedHashMap<>();
        for (int i = 0; i < in.size(); i++) {
            got.put(in.get(i).name(), plan.types().get(i).name());
        }
        assertThat(got).containsExactlyInAnyOrderEntriesOf(want);
        assertThat(plan.fallbacks()).isZero();
    }

    /**
     * A hidden size of 2880 (not a multiple of 256) against tensor_type_fallback's table, worked out by hand
     * from llama-quant.cpp: Q2_K/Q3_K to Q4_0, Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0. 64 heads over 8 KV
     * heads make n_gqa 8 (Q2_K's attn_v rule). Under Q4_0 the output tensor first becomes Q6_K, then falls
     * back to Q8_0.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            # ftype | output | token_embd | attn_q | attn_v 0 | attn_v 1 | attn_output | ffn_gate | ffn_down 0 | ffn_down 1 | fallbacks
            Q4_K_M  | Q8_0   | Q5_0       | Q5_0   | Q5_0     | Q8_0     | Q4_K        | Q5_0     | Q4_K       | Q6_K       | 7
            Q4_K_S  | Q8_0   | Q5_0       | Q5_0   | Q5_1     | Q5_1     | Q4_K        | Q5_0     | Q4_K       | Q4_K       | 7
            Q5_K_S  | Q8_0   | Q5_1       | Q5_1   | Q5_1     | Q5_1     | Q5_K        | Q5_1     | Q5_K       | Q5_K       | 7
            Q3_K_M  | Q8_0   | Q4_0       | Q4_0   | Q5_1     | Q5_1     | Q4_K        | Q4_0     | Q4_K       | Q4_K       | 7
            Q2_K    | Q8_0   | Q4_0       | Q4_0   | Q5_0     | Q5_0     | Q3_K        | Q4_0     | Q3_K       | Q3_K       | 7
            Q6_K    | Q8_0   | Q8_0       | Q8_0   | Q8_0     | Q8_0     | Q6_K        | Q8_0     | Q6_K       | Q6_K       | 7
            Q4_0    | Q8_0   | Q4_0       | Q4_0   | Q4_0     | Q4_0     | Q4_0        | Q4_0     | Q4_0       | Q4_0       | 1
            Q8_0    | Q8_0   | Q8_0       | Q8_0   | Q8_0     | Q8_0     | Q8_0        | Q8_0     | Q8_0       | Q8_0       | 0
            F16     | F16    | F16        | F16    | F16      | F16      | F16         | F16      | F16        | F16        | 0
            """)
    void rowLengthNotAMultipleOf256FallsBack(String ftype, String output, String tokenEmbd, String attnQ, String attnV0,
                                             String attnV1, String attnOutput, String ffnGate, String ffnDown0,
                                             String ffnDown1, int fallbacks) {
        // two layers, hidden 2880, 64 heads of 64 (4096) over 8 KV heads (512), ffn 7680 (a multiple of 256)
        List<QuantMix.Tensor> in = new ArrayList<>();
        in.add(new QuantMix.Tensor("token_embd.weight", new long[]{2880, 1000}, GgmlType.BF16));
        in.add(new QuantMix.Tensor("output.weight", new long[]{2880, 1000}, GgmlType.BF16));
        in.add(new QuantMix.Tensor("output_norm.weight", new long[]{2880}, GgmlType.F32));
        for (int l = 0; l < 2; l++) {
            String p = "blk." + l + ".";
            in.add(new QuantMix.Tensor(p + "attn_q.weight", new long[]{2880, 4096}, GgmlType.BF16));
            in.add(new QuantMix.Tensor(p + "attn_v.weight", new long[]{2880, 512}, GgmlType.BF16));
            in.add(new QuantMix.Tensor(p + "attn_output.weight", new long[]{4096, 2880}, GgmlType.BF16));
            in.add(new QuantMix.Tensor(p + "ffn_gate.weight", new long[]{2880, 7680}, GgmlType.BF16));
            in.add(new QuantMix.Tensor(p + "ffn_down.weight", new long[]{7680, 2880}, GgmlType.BF16));
            in.add(new QuantMix.Tensor(p + "attn_norm.weight", new long[]{2880}, GgmlType.F32));
        }
        QuantMix.Plan plan = QuantMix.plan(in, new QuantMix.ModelParams(2, 64, 8, 0), LlamaFileType.parse(ftype));
        Map<String, GgmlType> got = new LinkedHashMap<>();
        for (int i = 0; i < in.size(); i++) {
            got.put(in.get(i).name(), plan.types().get(i));
        }
        assertThat(got.get("output.weight")).hasToString(output);
        assertThat(got.get("token_embd.weight")).hasToString(tokenEmbd);
        assertThat(got.get("blk.0.attn_q.weight")).hasToString(attnQ);
        assertThat(got.get("blk.1.attn_q.weight")).hasToString(attnQ);
        assertThat(got.get("blk.0.attn_v.weight")).hasToString(attnV0);
        assertThat(got.get("blk.1.attn_v.weight")).hasToString(attnV1);
        assertThat(got.get("blk.0.attn_output.weight")).hasToString(attnOutput);
        assertThat(got.get("blk.1.ffn_gate.weight")).hasToString(ffnGate);
        assertThat(got.get("blk.0.ffn_down.weight")).hasToString(ffnDown0);
        assertThat(got.get("blk.1.ffn_down.weight")).hasToString(ffnDown1);
        assertThat(got.get("output_norm.weight")).isEqualTo(GgmlType.F32);
        assertThat(got.get("blk.1.attn_norm.weight")).isEqualTo(GgmlType.F32);
        assertThat(plan.fallbacks()).isEqualTo(fallbacks);
    }

    @Test
    void rowLengthNotAMultipleOf32EndsInF16OrFails() {
        var hp = new QuantMix.ModelParams(1, 1, 1, 0);
        var odd = new QuantMix.Tensor("blk.0.ffn_up.weight", new long[]{100, 64}, GgmlType.F16);
        QuantMix.Plan plan = QuantMix.plan(List.of(odd), hp, LlamaFileType.MOSTLY_Q4_K_M);
        assertThat(plan.types()).containsExactly(GgmlType.F16);
        assertThat(plan.fallbacks()).isEqualTo(1);
        assertThatThrownBy(() -> QuantMix.plan(List.of(odd), hp, LlamaFileType.MOSTLY_Q4_0))
                .isInstanceOf(QuantException.class)
                .hasMessageContaining("blk.0.ffn_up.weight").hasMessageContaining("100")
                .extracting(e -> ((QuantException) e).kind()).isEqualTo(QuantException.Kind.INCOMPATIBLE_SHAPE);
    }

    @Test
    void oneDimensionalAndNormTensorsKeepTheirType() {
        var hp = new QuantMix.ModelParams(1, 1, 1, 0);
        List<QuantMix.Tensor> in = List.of(
                new QuantMix.Tensor("blk.0.attn_norm.weight", new long[]{256}, GgmlType.F32),
                new QuantMix.Tensor("blk.0.ffn_up.weight", new long[]{256, 1}, GgmlType.F16), // ggml_n_dims == 1
                new QuantMix.Tensor("blk.0.attn_q_norm.weight", new long[]{256, 4}, GgmlType.F32),
                new QuantMix.Tensor("blk.0.ffn_gate_inp.weight", new long[]{256, 8}, GgmlType.F32),
                new QuantMix.Tensor("rope_freqs", new long[]{256, 2}, GgmlType.F32),
                new QuantMix.Tensor("blk.0.attn_k.weight", new long[]{256, 256}, GgmlType.BF16));
        assertThat(QuantMix.plan(in, hp, LlamaFileType.MOSTLY_Q8_0).types())
                .containsExactly(GgmlType.F32, GgmlType.F16, GgmlType.F32, GgmlType.F32, GgmlType.F32, GgmlType.Q8_0);
    }

    @Test
    void tiedEmbeddingsTakeTheOutputRule() {
        var hp = new QuantMix.ModelParams(1, 1, 1, 0);
        var emb = new QuantMix.Tensor("token_embd.weight", new long[]{256, 512}, GgmlType.F16);
        assertThat(QuantMix.plan(List.of(emb), hp, LlamaFileType.MOSTLY_Q4_K_M).types()).containsExactly(GgmlType.Q6_K);
        var out = new QuantMix.Tensor("output.weight", new long[]{256, 512}, GgmlType.F16);
        assertThat(QuantMix.plan(List.of(emb, out), hp, LlamaFileType.MOSTLY_Q4_K_M).types())
                .containsExactly(GgmlType.Q4_K, GgmlType.Q6_K);
    }

    @Test
    void processingOrderIsLayerNumberThenName() {
        // attn_v counters follow the loader's order: blk.2 before blk.10 although "blk.10" < "blk.2" as text
        var hp = new QuantMix.ModelParams(11, 8, 8, 0);
        List<QuantMix.Tensor> in = new ArrayList<>();
        for (int l = 10; l >= 0; l--) {
            in.add(new QuantMix.Tensor("blk." + l + ".attn_v.weight", new long[]{256, 256}, GgmlType.F16));
        }
        List<GgmlType> types = QuantMix.plan(in, hp, LlamaFileType.MOSTLY_Q3_K_M).types();
        // Q3_K_M: the first two attn_v (layers 0 and 1) get Q5_K
        assertThat(types.get(10)).isEqualTo(GgmlType.Q5_K);
        assertThat(types.get(9)).isEqualTo(GgmlType.Q5_K);
        assertThat(types.subList(0, 9)).containsOnly(GgmlType.Q4_K);
    }

    @Test
    void useMoreBitsMatchesTheFormula() {
        // n = 32: layers < 4, >= 28, and every third from 6
        List<Integer> more = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            if (QuantMix.useMoreBits(i, 32)) {
                more.add(i);
            }
        }
        assertThat(more).containsExactly(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31);
    }

    @Test
    void eightExpertModelsBumpAttentionToQ8_0() {
        var hp = new QuantMix.ModelParams(2, 32, 8, 8);
        List<QuantMix.Tensor> in = List.of(
                new QuantMix.Tensor("blk.1.attn_v.weight", new long[]{4096, 1024}, GgmlType.BF16),
                new QuantMix.Tensor("blk.1.attn_k.weight", new long[]{4096, 1024}, GgmlType.BF16),
                new QuantMix.Tensor("blk.1.attn_output.weight", new long[]{4096, 4096}, GgmlType.BF16),
                new QuantMix.Tensor("blk.1.ffn_down_exps.weight", new long[]{14336, 4096, 8}, GgmlType.BF16),
                new QuantMix.Tensor("blk.1.ffn_gate_inp.weight", new long[]{4096, 8}, GgmlType.F32));
        assertThat(QuantMix.plan(in, hp, LlamaFileType.MOSTLY_Q4_K_M).types()).containsExactly(
                GgmlType.Q8_0, GgmlType.Q8_0, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F32);
        var bad = new QuantMix.Tensor("blk.7.ffn_down_exps.weight", new long[]{14336, 4096, 8}, GgmlType.BF16);
        assertThatThrownBy(() -> QuantMix.plan(List.of(bad), hp, LlamaFileType.MOSTLY_Q4_K_M))
                .isInstanceOf(QuantException.class).hasMessageContaining("blk.7.ffn_down_exps.weight");
    }

    @Test
    void layerNumbersAreReadLikeSscanf() {
        assertThat(QuantMix.layerOf("blk.12.attn_v.weight")).isEqualTo(12);
        assertThat(QuantMix.layerOf("blk.7x")).isEqualTo(7);
        assertThat(QuantMix.layerOf("blk.+3.ffn_up.weight")).isEqualTo(3);
        assertThat(QuantMix.layerOf("blk.x.ffn_up.weight")).isEqualTo(-1);
        assertThat(QuantMix.layerOf("output.weight")).isEqualTo(-1);
    }
}
