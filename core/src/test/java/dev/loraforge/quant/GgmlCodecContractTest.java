package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgmlCodecContractTest {
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_1", "Q8_K", "IQ2_XXS", "IQ4_NL", "IQ4_XS", "TQ1_0", "MXFP4", "I8", "F64"})
    void typesWithoutCodecAreRejected(GgmlType t) {
        assertThatThrownBy(() -> GgmlCodec.of(t)).isInstanceOf(QuantException.class)
                .hasMessageContaining(t.name())
                .extracting(e -> ((QuantException) e).kind()).isEqualTo(QuantException.Kind.UNSUPPORTED_TYPE);
    }

    @Test
    void systemPropertyForcesScalarKernels() {
        String old = System.getProperty(GgmlCodec.VECTOR_PROPERTY);
        try {
            System.setProperty(GgmlCodec.VECTOR_PROPERTY, "false");
            assertThat(GgmlCodec.of(GgmlType.Q4_K)).isSameAs(Q4_KCodec.SCALAR);
            System.setProperty(GgmlCodec.VECTOR_PROPERTY, "true");
            assertThat(GgmlCodec.of(GgmlType.Q4_K)).isSameAs(Q4_KCodec.VECTOR);
        } finally {
            if (old == null) {
                System.clearProperty(GgmlCodec.VECTOR_PROPERTY);
            } else {
                System.setProperty(GgmlCodec.VECTOR_PROPERTY, old);
            }
        }
    }

    @Test
    void lengthsMustBeWholeBlocksAndFit() {
        GgmlCodec c = GgmlCodec.of(GgmlType.Q4_K);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(144);
            assertThatThrownBy(() -> c.quantize(new float[300], 0, 300, seg, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("300");
            assertThatThrownBy(() -> c.quantize(new float[512], 0, 512, seg, 0))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> c.quantize(new float[256], 1, 256, seg, 0))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> c.dequantize(seg, 1, new float[256], 0, 256))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            c.quantize(new float[256], 0, 256, seg, 0);
            float[] y = new float[260];
            c.dequantize(seg, 0, y, 4, 256);
            assertThat(y).containsOnly(0f);
        }
    }

    @Test
    void offsetsAreHonoured() {
        float[] x = CodecPairTest.gaussian(5, 1f);
        for (GgmlType t : CodecPairTest.ALL) {
            GgmlCodec c = GgmlCodec.of(t);
            byte[] plain = CodecPairTest.quantize(c, Arrays.copyOfRange(x, 256, 512));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = arena.allocate(plain.length + 3);
                c.quantize(x, 256, 256, seg, 3);
                assertThat(seg.asSlice(3).toArray(ValueLayout.JAVA_BYTE)).as("%s", t).isEqualTo(plain);
            }
        }
    }
}
