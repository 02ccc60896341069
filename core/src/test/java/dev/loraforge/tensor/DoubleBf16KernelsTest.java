package dev.loraforge.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The float64 ⇄ bf16 pair of the merge: the vector kernels give the scalar reference's bits, and the
 * scalar reference gives the independent {@link RoundingReference} (single rounding, not via float32 RNE).
 */
class DoubleBf16KernelsTest {

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 5})
    void bf16ToDoubleVectorEqualsScalarOnEveryPattern(int shift) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = FloatConversionsTest.allPatterns(arena);
            int n = 65536 - shift * 3; // odd lengths and offsets exercise the tails
            double[] a = new double[n + shift];
            double[] b = new double[n + shift];
            FloatConversions.bf16ToDoubleScalar(src, 2L * shift, a, shift, n);
            FloatConversions.bf16ToDoubleVector(src, 2L * shift, b, shift, n);
            for (int i = 0; i < n; i++) {
                long expect = Double.doubleToRawLongBits(HalfFloat.bf16ToFloat((short) (i + shift)));
                if (Double.doubleToRawLongBits(a[shift + i]) != expect || Double.doubleToRawLongBits(b[shift + i]) != expect) {
                    throw new AssertionError("pattern " + Integer.toHexString(i + shift) + ": scalar "
                            + a[shift + i] + ", vector " + b[shift + i]);
                }
            }
        }
    }

    /** Doubles where a float64 → bf16 rounding can go wrong: ties, ±1 ulp around ties, ranges' ends, NaNs. */
    static double[] doublesWithEdges(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] edges = {0L, 0x8000000000000000L, 0x7FF0000000000000L, 0xFFF0000000000000L, 0x7FF8000000000000L,
                0xFFF8000000000001L, 0x7FF0000000000001L, 0x7FF7FFFFE0000000L, 0x7FEFFFFFFFFFFFFFL, 0x0000000000000001L,
                0x8000000000000001L, Double.doubleToRawLongBits(Float.MAX_VALUE),
                Double.doubleToRawLongBits(Math.nextUp((double) Float.MAX_VALUE)),
                Double.doubleToRawLongBits(3.3961e38), Double.doubleToRawLongBits(Float.MIN_VALUE),
                Double.doubleToRawLongBits(Float.MIN_VALUE / 2), Double.doubleToRawLongBits(Math.nextUp(Float.MIN_VALUE / 2.0)),
                Double.doubleToRawLongBits(-Float.MIN_VALUE * 0.75), Double.doubleToRawLongBits(Float.MIN_NORMAL),
                Double.doubleToRawLongBits(1.0 + 0x1p-8), Double.doubleToRawLongBits(Math.nextUp(1.0 + 0x1p-8)),
                Double.doubleToRawLongBits(Math.nextDown(1.0 + 0x1p-8)), Double.doubleToRawLongBits(1.0 + 3 * 0x1p-8)};
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            long x = i < edges.length ? edges[i] : switch (r.nextInt(5)) {
                case 0 -> r.nextLong();
                // a bf16 tie in float64, nudged by a few double ulps (the double-rounding trap)
                case 1 -> Double.doubleToRawLongBits((double) Float.intBitsToFloat((r.nextInt() & 0xFFFF0000) | 0x8000))
                        + r.nextInt(-3, 4);
                // a float32 value nudged by a double ulp (inexact float conversion that rounds away)
                case 2 -> Double.doubleToRawLongBits((double) Float.intBitsToFloat(r.nextInt())) + r.nextInt(-2, 3);
                case 3 -> Double.doubleToRawLongBits(r.nextGaussian() * 0.02 + r.nextGaussian() * 1e-9);
                default -> Double.doubleToRawLongBits(Math.scalb(r.nextDouble() - 0.5, r.nextInt(-160, 140)));
            };
            d[i] = Double.longBitsToDouble(x);
        }
        return d;
    }

    @ParameterizedTest
    @ValueSource(ints = {300_007, 64, 17, 1})
    void doubleToBf16VectorEqualsScalarAndTheReference(int n) {
        double[] d = doublesWithEdges(n, n + 3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(2L * n + 2);
            MemorySegment b = arena.allocate(2L * n + 2);
            FloatConversions.doubleToBf16Scalar(d, 3, a, 2, n);
            FloatConversions.doubleToBf16Vector(d, 3, b, 2, n);
            for (int i = 0; i < n; i++) {
                double x = d[3 + i];
                short s = a.get(TensorView.I16_LE, 2 + 2L * i);
                short v = b.get(TensorView.I16_LE, 2 + 2L * i);
                if (s != v) {
                    throw new AssertionError("element " + i + " " + Long.toHexString(Double.doubleToRawLongBits(x))
                            + ": scalar " + Integer.toHexString(s & 0xFFFF) + ", vector " + Integer.toHexString(v & 0xFFFF));
                }
                if (!Double.isNaN(x) && !Double.isInfinite(x) && s != RoundingReference.BF16.round(x)) {
                    throw new AssertionError("element " + i + " " + x + ": " + Integer.toHexString(s & 0xFFFF)
                            + ", correctly rounded " + Integer.toHexString(RoundingReference.BF16.round(x) & 0xFFFF));
                }
                if (Double.isNaN(x)) {
                    assertThat(Float.isNaN(HalfFloat.bf16ToFloat(s))).isTrue();
                }
            }
        }
    }
}
