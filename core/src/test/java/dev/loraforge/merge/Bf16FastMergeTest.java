package dev.loraforge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The float32 bf16 merge must give the float64 path's bytes: the scalar reference kernel is the oracle, on
 * seeded random tensors of awkward shapes and on values built to sit on a bf16 rounding midpoint, where a
 * float32 sum rounds the wrong way and only the fallback can get it right.
 */
class Bf16FastMergeTest {
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    static Stream<Arguments> shapes() {
        // seed, rows, cols, r, scale, factor magnitude relative to the weights
        return Stream.of(
                Arguments.of(1L, 8, 64, 16, 2.0, 1.0),
                Arguments.of(2L, 7, 70, 8, 16 / Math.sqrt(8), 1.0),   // row and column tails, rsLoRA scale
                Arguments.of(3L, 5, 300, 1, 0.5, 10.0),               // two bands, rank 1, large updates
                Arguments.of(4L, 12, 513, 64, 1.0 / 3, 0.1),          // rank 64, a one-column band
                Arguments.of(5L, 4, 16, 3, -1.0, 1.0),                // unmerge sign
                Arguments.of(6L, 9, 96, 16, 1e-6, 1.0),               // updates below a bf16 ulp
                Arguments.of(7L, 3, 40, 4, 1e4, 1.0));                // updates far above the weights
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void equalsTheFloat64Path(long seed, int rows, int cols, int r, double scale, double magnitude) {
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * rows * cols);
            for (long i = 0; i < (long) rows * cols; i++) {
                w.set(BF16, 2 * i, HalfFloat.floatToBf16((float) (rnd.nextGaussian() * 0.02)));
            }
            double[] left = floats(rnd, rows * r, 0.02 * magnitude);
            double[] right = floats(rnd, r * cols, 0.02 * magnitude);
            assertSameBytes(arena, w, rows, cols, new LowRankTerm(left, right, rows, r, cols, scale, "t", true));
        }
    }

    /**
     * The warm-up's factors: terms of 2¹⁰ that cancel exactly in every other column block, whose error bound
     * is far above the weight (those lanes go down the exact path; that the warm-up thereby runs every branch
     * was checked with the JIT's deoptimization log, not here). Both paths must give the float64 bytes.
     */
    @Test
    void cancellingLargeTermsGiveTheFloat64Bytes() {
        int rows = 4;
        int cols = 64;
        int r = 16;
        SplittableRandom rnd = new SplittableRandom(11);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * rows * cols);
            for (long i = 0; i < (long) rows * cols; i++) {
                w.set(BF16, 2 * i, HalfFloat.floatToBf16((float) (rnd.nextGaussian() * 0.02)));
            }
            double[] left = new double[rows * r];
            for (int i = 0; i < left.length; i++) {
                left[i] = 0x1p-8 * (1 + i % 3);
            }
            double[] right = new double[r * cols];
            for (int k = 0; k < r; k++) {
                for (int j = 0; j < cols; j++) {
                    right[k * cols + j] = j / 16 % 2 == 1 ? (k % 2 == 0 ? 0x1p10 : -0x1p10) : 0x1p-12 * (j % 7 - 3);
                }
            }
            assertSameBytes(arena, w, rows, cols, new LowRankTerm(left, right, rows, r, cols, 2.0, "t", true));
        }
    }

    /** The JIT warm-up reads its sample and writes only its own buffer; a sample too small is skipped. */
    @Test
    void warmUpLeavesItsSampleAlone() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * 8 * 64);
            for (int i = 0; i < 8 * 64; i++) {
                w.set(BF16, 2L * i, HalfFloat.floatToBf16(0.01f * (i % 9 - 4)));
            }
            byte[] before = w.toArray(ValueLayout.JAVA_BYTE);
            Bf16FastMerge.warmUp(new TensorView("w", DType.BF16, Shape.of(8, 64), w), 3);
            Bf16FastMerge.warmUp(new TensorView("w", DType.BF16, Shape.of(2, 8), w.asSlice(0, 32)), 3);
            assertThat(w.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(before);
        }
    }

    /**
     * w = 1 and an update of 2⁻⁸ + 2⁻⁴⁰: the exact sum lies just above the midpoint between 1 and 1 + 2⁻⁷
     * and rounds up; in float32 the 2⁻⁴⁰ is lost, the sum is the midpoint itself and would round to even (1).
     * Likewise just below, and specials in the weights (zero, subnormal, infinity, NaN).
     */
    @Test
    void midpointsAndSpecialsTakeTheExactPath() {
        int rows = 4;
        int cols = 32;
        int r = 2;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * rows * cols);
            for (int i = 0; i < rows * cols; i++) {
                w.set(BF16, 2L * i, HalfFloat.floatToBf16(1f));
            }
            w.set(BF16, 2L * 3, HalfFloat.floatToBf16(0f));
            w.set(BF16, 2L * 4, HalfFloat.floatToBf16(Float.MIN_VALUE * 1024));
            w.set(BF16, 2L * 5, HalfFloat.floatToBf16(Float.POSITIVE_INFINITY));
            w.set(BF16, 2L * 6, HalfFloat.floatToBf16(Float.NaN));
            double[] left = new double[rows * r];
            java.util.Arrays.fill(left, 1.0);
            double[] right = new double[r * cols];
            for (int j = 0; j < cols; j++) {
                right[j] = 0x1p-8;
                right[cols + j] = j % 2 == 0 ? 0x1p-40 : -0x1p-40;
            }
            MemorySegment out = assertSameBytes(arena, w, rows, cols, new LowRankTerm(left, right, rows, r, cols, 1.0, "t", true));
            assertThat(HalfFloat.bf16ToFloat(out.get(BF16, 2L * 8))).isEqualTo(1f + 0x1p-7f);
            assertThat(HalfFloat.bf16ToFloat(out.get(BF16, 2L * 9))).isEqualTo(1f);
        }
    }

    @Test
    void appliesOnlyToOneExactTermOnBf16() {
        TensorView w = new TensorView("w", DType.BF16, Shape.of(4, 16), MemorySegment.ofArray(new short[64]));
        LowRankTerm t = new LowRankTerm(new double[4], new double[16], 4, 1, 16, 1.0, "t", true);
        LowRankTerm inexact = new LowRankTerm(new double[4], new double[16], 4, 1, 16, 1.0, "t", false);
        LowRankKernel v = LowRankKernel.vector();
        assertThat(Bf16FastMerge.of(w, List.of(t, t), null, DType.BF16, v)).isNull();
        assertThat(Bf16FastMerge.of(w, List.of(t), new double[4], DType.BF16, v)).isNull();
        assertThat(Bf16FastMerge.of(w, List.of(t), null, DType.F16, v)).isNull();
        assertThat(Bf16FastMerge.of(w, List.of(inexact), null, DType.BF16, v)).isNull();
        assertThat(Bf16FastMerge.of(w, List.of(t), null, DType.BF16, LowRankKernel.scalar())).isNull();
    }

    private static MemorySegment assertSameBytes(Arena arena, MemorySegment w, int rows, int cols, LowRankTerm t) {
        TensorView base = new TensorView("w", DType.BF16, Shape.of(rows, cols), w);
        Bf16FastMerge fast = Bf16FastMerge.of(base, List.of(t), null, DType.BF16, LowRankKernel.vector());
        assertThat(fast).as("fast path applies (Vector API with >= 8 float lanes)").isNotNull();
        MemorySegment expected = arena.allocate(2L * rows * cols);
        TensorMerge.mergeRows(base, List.of(t), null, DType.BF16, 0, rows, expected, LowRankKernel.scalar());
        MemorySegment actual = arena.allocate(2L * rows * cols);
        // in two calls, as the pipeline cuts a tensor into row ranges
        int half = rows / 2;
        fast.mergeRows(0, half, actual.asSlice(0, 2L * half * cols));
        fast.mergeRows(half, rows, actual.asSlice(2L * half * cols));
        for (long i = 0; i < (long) rows * cols; i++) {
            short e = expected.get(BF16, 2 * i);
            short a = actual.get(BF16, 2 * i);
            if (e != a) {
                throw new AssertionError("element " + i + " (row " + i / cols + ", col " + i % cols + "): expected 0x"
                        + Integer.toHexString(e & 0xFFFF) + ", got 0x" + Integer.toHexString(a & 0xFFFF));
            }
        }
        return actual;
    }

    private static double[] floats(SplittableRandom rnd, int n, double sigma) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = (float) (rnd.nextGaussian() * sigma);
        }
        return d;
    }
}
