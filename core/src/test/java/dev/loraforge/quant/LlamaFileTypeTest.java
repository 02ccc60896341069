package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LlamaFileTypeTest {
    @ParameterizedTest
    @CsvSource({
            "q4_k_m, MOSTLY_Q4_K_M, 15", "Q4_K_M, MOSTLY_Q4_K_M, 15", "q4_k, MOSTLY_Q4_K_M, 15", "15, MOSTLY_Q4_K_M, 15",
            "f16, MOSTLY_F16, 1", "F16, MOSTLY_F16, 1", "bf16, MOSTLY_BF16, 32", "f32, ALL_F32, 0", "q8_0, MOSTLY_Q8_0, 7",
            "q4_0, MOSTLY_Q4_0, 2", "q4_1, MOSTLY_Q4_1, 3", "q5_0, MOSTLY_Q5_0, 8", "q5_1, MOSTLY_Q5_1, 9",
            "q2_k, MOSTLY_Q2_K, 10", "q3_k_s, MOSTLY_Q3_K_S, 11", "q3_k, MOSTLY_Q3_K_M, 12", "Q3_K_L, MOSTLY_Q3_K_L, 13",
            "q4_k_s, MOSTLY_Q4_K_S, 14", "q5_k_s, MOSTLY_Q5_K_S, 16", "q5_k_m, MOSTLY_Q5_K_M, 17", "q5_k, MOSTLY_Q5_K_M, 17",
            "q6_k, MOSTLY_Q6_K, 18", "mostly_q6_k, MOSTLY_Q6_K, 18", "not_quantized, MOSTLY_F16, 1",
            "fast_quantized, MOSTLY_Q8_0, 7", "quantized, MOSTLY_Q4_K_M, 15", "' Q8_0 ', MOSTLY_Q8_0, 7"})
    void parsesLlamaQuantizeAndUnslothNames(String name, LlamaFileType want, int id) {
        assertThat(LlamaFileType.parse(name)).isEqualTo(want);
        assertThat(want.id()).isEqualTo(id);
        assertThat(LlamaFileType.fromId(id)).contains(want);
        assertThat(LlamaFileType.parse(want.displayName())).isEqualTo(want);
    }

    @ParameterizedTest
    @ValueSource(strings = {"q4", "", "q9_0", "99", "iq2_xxs", "Q2_K_S", "tq1_0"})
    void rejectsUnknownOrUnsupportedNames(String name) {
        assertThatThrownBy(() -> LlamaFileType.parse(name)).isInstanceOf(QuantException.class)
                .extracting(e -> ((QuantException) e).kind()).isEqualTo(QuantException.Kind.UNKNOWN_FILE_TYPE);
    }

    @Test
    void defaultTypesHaveCodecs() {
        for (LlamaFileType t : LlamaFileType.values()) {
            assertThat(GgmlCodec.of(t.defaultType()).type()).isEqualTo(t.defaultType());
        }
        assertThat(LlamaFileType.MOSTLY_Q4_K_S.defaultType()).isEqualTo(GgmlType.Q4_K);
    }
}
