package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The Vector API kernels against their scalar references, on seeded random rows and edge rows. */
class CodecPairTest {
    static final List<GgmlType> ALL = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K,
            GgmlType.Q6_K);
    private static final int N = 512; // two super-blocks

    /** Rows that reach the special paths: all-zero groups, equal values, subnormal scales, overflow, NaN. */
    static List<Arguments> rows() {
        List<Arguments> rows = new ArrayList<>();
        rows.add(Arguments.of("zeros", fill(0f)));
        rows.add(Arguments.of("negative zeros", fill(-0f)));
        rows.add(Arguments.of("constant 0.25", fill(0.25f)));
        rows.add(Arguments.of("constant -3", fill(-3f)));
        float[] outlier = gaussian(7, 0.02f);
        outlier[300] = 1000f;
        rows.add(Arguments.of("one huge outlier", outlier));
        float[] negOutlier = gaussian(8, 0.02f);
        negOutlier[5] = -65000f;
        rows.add(Arguments.of("one negative outlier", negOutlier));
        rows.add(Arguments.of("subnormals", scaled(gaussian(9, 1f), 1e-40f)));
        rows.add(Arguments.of("tiny normals", scaled(gaussian(10, 1f), 1e-30f)));
        float[] pm = new float[N];
        for (int i = 0; i < N; i++) {
            pm[i] = (i % 3 == 0) ? Float.MAX_VALUE : (i % 3 == 1 ? -Float.MAX_VALUE : 0f);
        }
        rows.add(Arguments.of("+-max", pm));
        float[] fp16max = new float[N];
        for (int i = 0; i < N; i++) {
            fp16max[i] = (i % 2 == 0 ? 1 : -1) * 65504f * (i % 7) / 6f;
        }
        rows.add(Arguments.of("fp16 range", fp16max));
        float[] ties = new float[N];
        for (int i = 0; i < N; i++) {
            ties[i] = (i % 17 - 8) * 0.5f; // many exact .5 products
        }
        rows.add(Arguments.of("ties", ties));
        float[] withNan = gaussian(11, 1f);
        withNan[40] = Float.NaN;
        withNan[300] = Float.POSITIVE_INFINITY;
        rows.add(Arguments.of("nan and inf", withNan));
        float[] sym = gaussian(12, 1f);
        for (int i = 0; i < N; i += 32) {
            sym[i] = 2f;
            sym[i + 1] = -2f; // equal magnitudes: the first one decides the sign of Q4_0/Q5_0's d
        }
        rows.add(Arguments.of("tied max magnitudes", sym));
        for (int seed = 0; seed < 12; seed++) {
            float scale = (float) Math.pow(10, seed % 6 - 4);
            rows.add(Arguments.of("gaussian seed " + seed + " scale " + scale, scaled(gaussian(100 + seed, 1f), scale)));
        }
        for (int seed = 0; seed < 4; seed++) {
            rows.add(Arguments.of("uniform positive seed " + seed, uniform(200 + seed, 0f, 1f)));
        }
        return rows;
    }

    static Stream<Arguments> cases() {
        return ALL.stream().flatMap(t -> rows().stream().map(r -> Arguments.of(t, r.get()[0], r.get()[1])));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void vectorQuantizeEqualsScalar(GgmlType type, String label, float[] x) {
        byte[] scalar = quantize(GgmlCodec.of(type, false), x);
        byte[] vector = quantize(GgmlCodec.of(type, true), x);
        assertThat(vector).isEqualTo(scalar);
        // and the dequantized rows agree bit for bit
        assertThat(bits(dequantize(GgmlCodec.of(type, true), scalar))).isEqualTo(bits(dequantize(GgmlCodec.of(type, false), scalar)));
    }

    static Stream<Arguments> types() {
        return ALL.stream().map(Arguments::of);
    }

    /** Arbitrary bytes (NaN and infinite scales included) decode identically in both kernels. */
    @ParameterizedTest
    @MethodSource("types")
    void vectorDequantizeEqualsScalarOnRandomBytes(GgmlType type) {
        SplittableRandom r = new SplittableRandom(type.id());
        for (int round = 0; round < 20; round++) {
            byte[] raw = new byte[(int) type.rowSize(N)];
            for (int i = 0; i < raw.length; i++) {
                raw[i] = (byte) r.nextInt(256);
            }
            assertThat(bits(dequantize(GgmlCodec.of(type, true), raw))).isEqualTo(bits(dequantize(GgmlCodec.of(type, false), raw)));
        }
    }

    /** Sanity (not an oracle): well-scaled rows come back within a few quantization steps. */
    @ParameterizedTest
    @MethodSource("types")
    void roundTripErrorIsSmall(GgmlType type) {
        float[] x = gaussian(42, 1f);
        float[] y = dequantize(GgmlCodec.of(type), quantize(GgmlCodec.of(type), x));
        double err = 0;
        double norm = 0;
        for (int i = 0; i < N; i++) {
            err += (x[i] - y[i]) * (double) (x[i] - y[i]);
            norm += x[i] * (double) x[i];
        }
        double rel = Math.sqrt(err / norm);
        double bound = switch (type) {
            case F32 -> 0;
            case F16, BF16 -> 0.005;
            case Q8_0, Q6_K -> 0.02;
            case Q5_0, Q5_1, Q5_K -> 0.06;
            case Q4_0, Q4_1, Q4_K -> 0.12;
            case Q3_K -> 0.25;
            default -> 0.5;
        };
        assertThat(rel).isLessThanOrEqualTo(bound);
    }

    static byte[] quantize(GgmlCodec c, float[] x) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(c.type().rowSize(x.length));
            c.quantize(x, 0, x.length, seg, 0);
            return seg.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    static float[] dequantize(GgmlCodec c, byte[] raw) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(raw.length);
            MemorySegment.copy(raw, 0, seg, ValueLayout.JAVA_BYTE, 0, raw.length);
            float[] y = new float[raw.length / c.type().typeSize() * c.type().blockSize()];
            c.dequantize(seg, 0, y, 0, y.length);
            return y;
        }
    }

    private static int[] bits(float[] y) {
        int[] b = new int[y.length];
        for (int i = 0; i < y.length; i++) {
            b[i] = Float.floatToIntBits(y[i]);
        }
        return b;
    }

    private static float[] fill(float v) {
        float[] x = new float[N];
        Arrays.fill(x, v);
        return x;
    }

    static float[] gaussian(long seed, float sigma) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) {
            // Box-Muller from two uniforms: deterministic across JDKs
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            x[i] = (float) (sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return x;
    }

    private static float[] uniform(long seed, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) {
            x[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return x;
    }

    private static float[] scaled(float[] x, float s) {
        for (int i = 0; i < x.length; i++) {
            x[i] *= s;
        }
        return x;
    }
}
