package dev.loraforge.format.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class GgufValueTest {
    @Test
    void scalarsKeepStoredBitsAndReadBackSigned() {
        assertThat(GgufValue.int8(-1).bits()).isEqualTo(0xFF);
        assertThat(GgufValue.int8(-1).asLong()).isEqualTo(-1);
        assertThat(GgufValue.int16(-32768).asLong()).isEqualTo(-32768);
        assertThat(GgufValue.int32(Integer.MIN_VALUE).asLong()).isEqualTo(Integer.MIN_VALUE);
        assertThat(GgufValue.uint32(0xFFFF_FFFFL).asLong()).isEqualTo(0xFFFF_FFFFL);
        assertThat(GgufValue.uint16(65535).asLong()).isEqualTo(65535);
        assertThat(GgufValue.uint64(-1L).toString()).isEqualTo("18446744073709551615");
        assertThat(GgufValue.uint64(-1L).asDouble()).isEqualTo(0x1p64);
        assertThat(GgufValue.float32(1f).bits()).isEqualTo(0x3F800000L);
        assertThat(GgufValue.float32(1e-5f).asDouble()).isEqualTo((double) 1e-5f);
        assertThat(GgufValue.float64(-0.0).bits()).isEqualTo(Long.MIN_VALUE);
        assertThat(GgufValue.bool(true).asBool()).isTrue();
    }

    @Test
    void refusesValuesThatDoNotFitTheirType() {
        assertThatThrownBy(() -> GgufValue.uint8(256)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgufValue.int8(128)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgufValue.uint32(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GgufValue.Scalar(GgufValueType.UINT16, 0x10000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GgufValue.Scalar(GgufValueType.BOOL, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GgufValue.Scalar(GgufValueType.STRING, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgufValue.array(GgufValueType.INT32, List.of(GgufValue.uint32(1))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void arraysConvertToJavaArrays() {
        assertThat(GgufValue.stringArray(List.of("a", "▁b")).strings()).containsExactly("a", "▁b");
        assertThat(GgufValue.float32Array(-1000f, 0.5f).floats()).containsExactly(-1000f, 0.5f);
        assertThat(GgufValue.int32Array(3, -6).longs()).containsExactly(3, -6);
        assertThatThrownBy(() -> GgufValue.int32Array(1).strings()).isInstanceOf(IllegalStateException.class);
        GgufValue.Array nested = GgufValue.array(GgufValueType.ARRAY, List.of(GgufValue.int32Array(1), GgufValue.int32Array()));
        assertThat(GgufSummary.typeName(nested)).isEqualTo("[[INT32]]");
        assertThat(nested.get(0).asArray().longs()).containsExactly(1);
    }
}
