package dev.loraforge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Scalar and vector bulk conversions against each other and against HalfFloat, element for element. */
class FloatConversionsTest {

    static MemorySegment allPatterns(Arena arena) {
        MemorySegment s = arena.allocate(2L * 65536 + 6);
        for (int b = 0; b < 65536; b++) {
            s.set(TensorView.I16_LE, 2L * b, (short) b);
        }
        return s;
    }

    static float[] floatsWithEdges(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] edges = {0, 0x80000000, 0x3F808000, 0x3F818000, 0x7F7F8000, 0x7F7FFFFF, 0x7F800000, 0xFF800000,
                0x7FC00000, 0x7F800001, 0xFF812345, 0x7FFFFFFF, 0x00008000, 0x00008001, 0x007FFFFF, 0x00000001,
                0x477FF000, 0x33000000, 0x33000001};
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            int x = i < edges.length ? edges[i] : switch (r.nextInt(3)) {
                case 0 -> r.nextInt();
                case 1 -> (r.nextInt() & 0xFFFF0000) | (0x8000 + r.nextInt(-1, 2)); // bf16 ties and neighbours
                default -> Float.floatToRawIntBits((float) r.nextGaussian());
            };
            f[i] = Float.intBitsToFloat(x);
        }
        return f;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3})
    void bf16ToFloatVectorEqualsScalarOnEveryPattern(int shift) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = allPatterns(arena);
            // odd lengths and offsets exercise the tails
            int n = 65536 - shift * 7;
            float[] a = new float[n + shift];
            float[] b = new float[n + shift];
            FloatConversions.bf16ToFloatScalar(src, 2L * shift, a, shift, n);
            FloatConversions.bf16ToFloatVector(src, 2L * shift, b, shift, n);
            for (int i = 0; i < n; i++) {
                int expect = Float.floatToRawIntBits(HalfFloat.bf16ToFloat((short) (i + shift)));
                assertThat(Float.floatToRawIntBits(a[shift + i])).isEqualTo(expect);
                assertThat(Float.floatToRawIntBits(b[shift + i])).isEqualTo(expect);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {200_003, 17, 1})
    void floatToBf16VectorEqualsScalar(int n) {
        float[] f = floatsWithEdges(n, n + 5);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(2L * n + 2);
            MemorySegment b = arena.allocate(2L * n + 2);
            FloatConversions.floatToBf16Scalar(f, 5, a, 2, n);
            FloatConversions.floatToBf16Vector(f, 5, b, 2, n);
            assertThat(a.mismatch(b)).isEqualTo(-1);
            for (int i = 0; i < n; i++) {
                if (a.get(TensorView.I16_LE, 2 + 2L * i) != HalfFloat.floatToBf16(f[5 + i])) {
                    throw new AssertionError("element " + i + " of " + Integer.toHexString(Float.floatToRawIntBits(f[5 + i])));
                }
            }
        }
    }

    @Test
    void everyBf16PatternSurvivesTheVectorRoundTrip() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = allPatterns(arena);
            float[] f = new float[65536];
            FloatConversions.bf16ToFloatVector(src, 0, f, 0, 65536);
            MemorySegment back = arena.allocate(2L * 65536);
            FloatConversions.floatToBf16Vector(f, 0, back, 0, 65536);
            for (int b = 0; b < 65536; b++) {
                short got = back.get(TensorView.I16_LE, 2L * b);
                boolean nan = (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0;
                assertThat(got).isEqualTo(nan ? (short) (b | 0x40) : (short) b);
            }
        }
    }

    @Test
    void f16LoopsMatchHalfFloat() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = allPatterns(arena);
            float[] f = new float[65536];
            FloatConversions.f16ToFloat(src, 0, f, 0, 65536);
            for (int b = 0; b < 65536; b++) {
                assertThat(Float.floatToRawIntBits(f[b])).isEqualTo(Float.floatToRawIntBits(HalfFloat.f16ToFloat((short) b)));
            }
            float[] g = floatsWithEdges(9, 100_000);
            MemorySegment out = arena.allocate(200_000);
            FloatConversions.floatToF16(g, 0, out, 0, g.length);
            for (int i = 0; i < g.length; i++) {
                assertThat(out.get(TensorView.I16_LE, 2L * i)).isEqualTo(HalfFloat.floatToF16(g[i]));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3})
    void f16BlockedEqualsScalarOnEveryPattern(int shift) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = allPatterns(arena);
            // odd offsets and lengths, several blocks and a tail
            int n = 65536 - shift * 7;
            float[] a = new float[n + shift];
            float[] b = new float[n + shift];
            FloatConversions.f16ToFloatScalar(src, 2L * shift, a, shift, n);
            FloatConversions.f16ToFloatBlocked(src, 2L * shift, b, shift, n);
            MemorySegment hs = arena.allocate(2L * n + 6);
            MemorySegment hb = arena.allocate(2L * n + 6);
            FloatConversions.bf16ToF16Scalar(src, 2L * shift, hs, 2L * shift, n);
            FloatConversions.bf16ToF16Blocked(src, 2L * shift, hb, 2L * shift, n);
            for (int i = 0; i < n; i++) {
                short bits = (short) (i + shift);
                int expect = Float.floatToRawIntBits(HalfFloat.f16ToFloat(bits));
                assertThat(Float.floatToRawIntBits(a[shift + i])).isEqualTo(expect);
                assertThat(Float.floatToRawIntBits(b[shift + i])).isEqualTo(expect);
                // bf16 -> f32 -> f16 as the float row path does it, NaN payloads included
                short f16 = HalfFloat.floatToF16(HalfFloat.bf16ToFloat(bits));
                assertThat(hs.get(TensorView.I16_LE, 2L * (shift + i))).isEqualTo(f16);
                assertThat(hb.get(TensorView.I16_LE, 2L * (shift + i))).isEqualTo(f16);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4095, 4096, 4097, 100_003})
    void floatToF16BlockedEqualsScalar(int n) {
        float[] g = floatsWithEdges(n, n + 3);
        MemorySegment a = MemorySegment.ofArray(new byte[2 * n + 2]);
        MemorySegment b = MemorySegment.ofArray(new byte[2 * n + 2]);
        FloatConversions.floatToF16Scalar(g, 3, a, 2, n);
        FloatConversions.floatToF16Blocked(g, 3, b, 2, n);
        assertThat(a.mismatch(b)).isEqualTo(-1);
        for (int i = 0; i < n; i++) {
            assertThat(b.get(TensorView.I16_LE, 2 + 2L * i)).isEqualTo(HalfFloat.floatToF16(g[3 + i]));
        }
        assertThatThrownBy(() -> FloatConversions.floatToF16Blocked(g, 0, a, 4, n + 1))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void doublesRoundOnce() {
        double[] d = IntStream.range(0, 1000).mapToDouble(i -> 1 + Math.scalb(1.0, -8) + Math.scalb(1.0, -30) * (i - 500)).toArray();
        MemorySegment bf = MemorySegment.ofArray(new byte[2000]);
        MemorySegment hf = MemorySegment.ofArray(new byte[2000]);
        FloatConversions.doubleToBf16(d, 0, bf, 0, d.length);
        FloatConversions.doubleToF16(d, 0, hf, 0, d.length);
        for (int i = 0; i < d.length; i++) {
            assertThat(bf.get(TensorView.I16_LE, 2L * i)).isEqualTo(HalfFloat.doubleToBf16(d[i]));
            assertThat(hf.get(TensorView.I16_LE, 2L * i)).isEqualTo(HalfFloat.doubleToF16(d[i]));
        }
        assertThat(bf.get(TensorView.I16_LE, 0)).isEqualTo((short) 0x3F80); // below the midpoint
        assertThat(bf.get(TensorView.I16_LE, 2 * 999)).isEqualTo((short) 0x3F81); // above it
    }

    @Test
    void propertyForcesScalarAndDispatchAgrees() {
        String old = System.getProperty(FloatConversions.VECTOR_PROPERTY);
        try {
            float[] f = floatsWithEdges(3, 4099);
            MemorySegment v = MemorySegment.ofArray(new byte[2 * 4099]);
            MemorySegment s = MemorySegment.ofArray(new byte[2 * 4099]);
            System.clearProperty(FloatConversions.VECTOR_PROPERTY);
            assertThat(FloatConversions.vectorEnabled()).isTrue();
            FloatConversions.floatToBf16(f, 0, v, 0, f.length);
            System.setProperty(FloatConversions.VECTOR_PROPERTY, "false");
            assertThat(FloatConversions.vectorEnabled()).isFalse();
            FloatConversions.floatToBf16(f, 0, s, 0, f.length);
            assertThat(v.mismatch(s)).isEqualTo(-1);
            float[] back = new float[f.length];
            FloatConversions.bf16ToFloat(s, 0, back, 0, f.length);
            assertThat(back[0]).isZero();
        } finally {
            if (old == null) {
                System.clearProperty(FloatConversions.VECTOR_PROPERTY);
            } else {
                System.setProperty(FloatConversions.VECTOR_PROPERTY, old);
            }
        }
    }

    @Test
    void nonByteHeapSegmentsAndBoundsWork() {
        short[] raw = {0x3F80, (short) 0xC000, 0x7F80};
        float[] out = new float[3];
        FloatConversions.bf16ToFloat(MemorySegment.ofArray(raw), 0, out, 0, 3);
        assertThat(out).containsExactly(1f, -2f, Float.POSITIVE_INFINITY);
        assertThatThrownBy(() -> FloatConversions.bf16ToFloat(MemorySegment.ofArray(raw), 2, out, 0, 3))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> FloatConversions.bf16ToFloatVector(MemorySegment.ofArray(new byte[200]), 0, out, 0, 100))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }
}
