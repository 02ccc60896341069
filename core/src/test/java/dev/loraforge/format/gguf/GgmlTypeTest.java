package dev.loraforge.format.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class GgmlTypeTest {

    /** gguf-py 3f545bec GGMLQuantizationType + GGML_QUANT_SIZES (Q8_1 corrected to ggml.c's 36, see GgmlType). */
    @ParameterizedTest
    @CsvSource({"F32,0,1,4", "F16,1,1,2", "Q4_0,2,32,18", "Q4_1,3,32,20", "Q5_0,6,32,22", "Q5_1,7,32,24",
        "Q8_0,8,32,34", "Q8_1,9,32,36", "Q2_K,10,256,84", "Q3_K,11,256,110", "Q4_K,12,256,144", "Q5_K,13,256,176",
        "Q6_K,14,256,210", "Q8_K,15,256,292", "IQ2_XXS,16,256,66", "IQ2_XS,17,256,74", "IQ3_XXS,18,256,98",
        "IQ1_S,19,256,50", "IQ4_NL,20,32,18", "IQ3_S,21,256,110", "IQ2_S,22,256,82", "IQ4_XS,23,256,136",
        "I8,24,1,1", "I16,25,1,2", "I32,26,1,4", "I64,27,1,8", "F64,28,1,8", "IQ1_M,29,256,56", "BF16,30,1,2",
        "TQ1_0,34,256,54", "TQ2_0,35,256,66", "MXFP4,39,32,17", "NVFP4,40,64,36", "Q1_0,41,128,18", "Q2_0,42,64,18"})
    void matchesLlamaCppsTable(String name, int id, int block, int bytes) {
        GgmlType t = GgmlType.valueOf(name);
        assertThat(t.id()).isEqualTo(id);
        assertThat(t.blockSize()).isEqualTo(block);
        assertThat(t.typeSize()).isEqualTo(bytes);
        assertThat(GgmlType.fromId(id)).contains(t);
    }

    @Test
    void tableIsComplete() {
        assertThat(GgmlType.values()).hasSize(35);
        Set<Integer> ids = new HashSet<>();
        for (GgmlType t : GgmlType.values()) {
            assertThat(ids.add(t.id())).as(t.name()).isTrue();
            assertThat(t.id()).isLessThan(GgmlType.TYPE_COUNT);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {-1, 4, 5, 31, 32, 33, 36, 37, 38, 43, 64, 0xFFFF_FFFFL, Long.MAX_VALUE})
    void rejectsRetiredAndUnknownIds(long id) {
        assertThat(GgmlType.fromId(id)).isEmpty();
    }

    @Test
    void rowSizeIsCheckedAndExact() {
        assertThat(GgmlType.Q4_K.rowSize(4096)).isEqualTo(16 * 144);
        assertThat(GgmlType.F32.rowSize(7)).isEqualTo(28);
        assertThatThrownBy(() -> GgmlType.Q4_0.rowSize(48)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgmlType.F64.rowSize(1L << 61)).isInstanceOf(ArithmeticException.class);
    }
}
