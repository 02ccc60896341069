package dev.loraforge.merge;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.HalfFloat;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The common merge (one LoRA term with bf16/f16/f32 factors, a bf16 base, bf16 output) in float32 lanes,
 * with the float64 path's bits: twice the lanes per vector, and the base read and the result written as bf16
 * without float64 arrays in between (those conversions cost as much as the rank-r products).
 *
 * <p>Per element v = fma(Σₖ bₖ·aₖ in float32, (float) s, w). Its distance from the float64 result x is at most
 * {@code bound = s·(r+4)·2⁻²⁴·Σₖ|bₖ·aₖ| + 2·2⁻²⁴·|v|} (r float32 roundings of the sum, one of the scale,
 * one of the fma, with room for the float64 path's own roundings), and Σₖ|bₖ·aₖ| ≤ maxₖ|bₖ|·Σₖ|aₖ|, a row
 * factor times a column factor computed once per tensor. When no bf16 rounding midpoint lies within
 * {@code bound} of v, x and v round to the same bf16: v's own midpoint must be farther than bound, and bound
 * below |v|·2⁻¹⁰ keeps every other midpoint out of reach (they are at least half a bf16 ulp of the binade
 * below away). The few lanes that fail, and zeros, subnormals and
 * non-finite values, are computed by the float64 path's arithmetic, element by element (0.24% of the lanes of
 * the benchmark's random rank-16 adapter; the share grows with the update's size against the weights).
 */
final class Bf16FastMerge {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    // ints and shorts with the float species' lane count
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> H = F.length() == 16 ? ShortVector.SPECIES_256
            : F.length() == 8 ? ShortVector.SPECIES_128 : null;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final float U = 0x1p-24f;
    /**
     * Columns per band. Four rows are finished band by band along the whole row, so the base is read in four
     * sequential streams (band-major over many rows made the prefetcher miss: 1.6 → 1.2 ns/element); each
     * band's r × BAND floats of the right factor are contiguous, and all of them (r·cols floats) stay in L2.
     */
    private static final int BAND = 256;

    private final MemorySegment base;
    private final int cols;
    private final int r;
    private final double scale;
    private final float scaleF;
    private final double[] left64;
    /** The right factor by columns: an exact element reads its r factors from one cache line or two, not r rows apart. */
    private final double[] rightT;
    private final float[] left;
    private final float[] bands;
    private final float[] colFactor;
    private final float[] rowFactor;

    private Bf16FastMerge(TensorView base, LowRankTerm t) {
        this.base = base.data();
        this.cols = t.cols();
        this.r = t.r();
        this.scale = t.scale();
        this.scaleF = (float) scale;
        this.left64 = t.left();
        double[] right64 = t.right();
        this.rightT = new double[right64.length];
        for (int k = 0; k < r; k++) {
            for (int j = 0; j < cols; j++) {
                rightT[j * r + k] = right64[k * cols + j];
            }
        }
        this.left = toFloats(left64);
        // the right factor band by band, each band's r rows of BAND floats contiguous (the last band padded)
        this.bands = new float[(cols + BAND - 1) / BAND * r * BAND];
        for (int j0 = 0, p = 0; j0 < cols; j0 += BAND, p += r * BAND) {
            for (int k = 0; k < r; k++) {
                for (int c = 0; c < Math.min(BAND, cols - j0); c++) {
                    bands[p + k * BAND + c] = (float) right64[k * cols + j0 + c];
                }
            }
        }
        this.colFactor = new float[cols];
        for (int j = 0; j < cols; j++) {
            double s = 0;
            for (int k = 0; k < r; k++) {
                s += Math.abs(right64[k * cols + j]);
            }
            colFactor[j] = roundUp(s * (1 + 0x1p-40));
        }
        this.rowFactor = new float[t.rows()];
        for (int i = 0; i < t.rows(); i++) {
            double m = 0;
            for (int k = 0; k < r; k++) {
                m = Math.max(m, Math.abs(left64[i * r + k]));
            }
            rowFactor[i] = roundUp(Math.abs(scale) * m * (r + 4) * 0x1p-24 * (1 + 0x1p-20));
        }
    }

    /**
     * The fast merge for this tensor, or null when it does not apply (other dtypes, several terms, DoRA,
     * float64 factors, the scalar kernel asked for, vectors narrower than 8 floats).
     */
    static Bf16FastMerge of(TensorView base, List<LowRankTerm> terms, double[] magnitude, DType outType,
                            LowRankKernel kernel) {
        if (kernel != LowRankKernel.vector() || H == null || terms.size() != 1 || magnitude != null
                || base.dtype() != DType.BF16 || outType != DType.BF16 || !terms.getFirst().exact()) {
            return null;
        }
        LowRankTerm t = terms.getFirst();
        float s = (float) t.scale();
        if (!(Math.abs(s) >= Float.MIN_NORMAL && Math.abs(s) <= Float.MAX_VALUE)) {
            return null;
        }
        return new Bf16FastMerge(base, t);
    }

    /** Rows {@code [from, to)} into {@code out}, which starts at row {@code from}. */
    void mergeRows(int from, int to, MemorySegment out) {
        // the sums of four rows: kept in an array so that finishRow takes no vector argument (a vector passed
        // to a method the JIT does not inline is boxed on the heap, and finishRow is too big to inline)
        float[] sums = new float[4 * BAND];
        long[] flags = new long[BAND / F.length()];
        int lanes = F.length();
        int i = from;
        for (; i + 4 <= to; i += 4) {
            for (int j0 = 0, p = 0; j0 < cols; j0 += BAND, p += r * BAND) {
                int nv = Math.min(BAND, cols - j0) / lanes * lanes;
                four(i, nv, bands, p, sums);
                for (int q = 0; q < 4; q++) {
                    finishRow(i + q, from, j0, nv, sums, q * BAND, out, flags);
                }
            }
        }
        for (; i < to; i++) {
            for (int j0 = 0, p = 0; j0 < cols; j0 += BAND, p += r * BAND) {
                int nv = Math.min(BAND, cols - j0) / lanes * lanes;
                one(i, nv, bands, p, sums);
                finishRow(i, from, j0, nv, sums, 0, out, flags);
            }
        }
        int tail = cols % lanes;
        for (int row = from; tail > 0 && row < to; row++) {
            for (int j = cols - tail; j < cols; j++) {
                exact(row, j, from, out);
            }
        }
    }

    /** Σₖ bₖ·aₖ in float32 for rows i..i+3 of the band into {@code sums} (row q at q·BAND). */
    private void four(int i, int nv, float[] packed, int p0, float[] sums) {
        int lo = i * r;
        for (int t = 0; t < nv; t += F.length()) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int k = 0, p = p0 + t; k < r; k++, p += BAND) {
                FloatVector v = FloatVector.fromArray(F, packed, p);
                a0 = v.fma(FloatVector.broadcast(F, left[lo + k]), a0);
                a1 = v.fma(FloatVector.broadcast(F, left[lo + r + k]), a1);
                a2 = v.fma(FloatVector.broadcast(F, left[lo + 2 * r + k]), a2);
                a3 = v.fma(FloatVector.broadcast(F, left[lo + 3 * r + k]), a3);
            }
            a0.intoArray(sums, t);
            a1.intoArray(sums, BAND + t);
            a2.intoArray(sums, 2 * BAND + t);
            a3.intoArray(sums, 3 * BAND + t);
        }
    }

    private void one(int i, int nv, float[] packed, int p0, float[] sums) {
        int lo = i * r;
        for (int t = 0; t < nv; t += F.length()) {
            FloatVector a = FloatVector.zero(F);
            for (int k = 0, p = p0 + t; k < r; k++, p += BAND) {
                a = FloatVector.fromArray(F, packed, p).fma(FloatVector.broadcast(F, left[lo + k]), a);
            }
            a.intoArray(sums, t);
        }
    }

    /**
     * w + s·sum for row {@code i}, columns {@code j0..j0+nv}, rounded to bf16 where safe, exactly elsewhere.
     * The unsafe lanes are noted in {@code flags} (one mask per vector) and fixed after the loop: with a
     * call inside it, C2 reloaded the fields and redid the segment checks every iteration (15% slower).
     */
    private void finishRow(int i, int from, int j0, int nv, float[] sums, int off, MemorySegment out, long[] flags) {
        MemorySegment base = this.base;
        float[] colFactor = this.colFactor;
        FloatVector s = FloatVector.broadcast(F, scaleF);
        FloatVector rowF = FloatVector.broadcast(F, rowFactor[i]);
        long at = 2L * ((long) i * cols + j0);
        long outAt = 2L * ((long) (i - from) * cols + j0);
        int firstUnsafe = nv;
        for (int t = 0; t < nv; t += F.length()) {
            IntVector wBits = (IntVector) ShortVector.fromMemorySegment(H, base, at + 2L * t, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, I, 0);
            FloatVector w = wBits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector v = FloatVector.fromArray(F, sums, off + t).fma(s, w);
            FloatVector av = v.abs();
            IntVector bits = v.reinterpretAsInts();
            FloatVector mid = bits.and(0xFFFF0000).or(0x8000).reinterpretAsFloats();
            FloatVector bound = FloatVector.fromArray(F, colFactor, j0 + t).fma(rowF, av.mul(2 * U));
            VectorMask<Float> unsafe = v.sub(mid).abs().compare(VectorOperators.LE, bound)
                    .or(bound.compare(VectorOperators.GE, av.mul(0x1p-10f)))
                    .or(av.compare(VectorOperators.LT, Float.MIN_NORMAL))
                    .or(av.compare(VectorOperators.LE, Float.MAX_VALUE).not());
            IntVector rounded = bits.add(bits.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7FFF)
                    .lanewise(VectorOperators.LSHR, 16);
            ((ShortVector) rounded.convertShape(VectorOperators.I2S, H, 0))
                    .intoMemorySegment(out, outAt + 2L * t, ByteOrder.LITTLE_ENDIAN);
            if (unsafe.anyTrue()) {
                flags[t / F.length()] = unsafe.toLong();
                firstUnsafe = Math.min(firstUnsafe, t);
            }
        }
        if (firstUnsafe < nv) {
            for (int t = firstUnsafe; t < nv; t += F.length()) {
                long m = flags[t / F.length()];
                if (m != 0) {
                    flags[t / F.length()] = 0;
                    fix(m, i, j0 + t, from, out);
                }
            }
        }
    }

    /** The lanes set in {@code lanes} (bit per lane), computed exactly. */
    private void fix(long lanes, int i, int j, int from, MemorySegment out) {
        for (long m = lanes; m != 0; m &= m - 1) {
            exact(i, j + Long.numberOfTrailingZeros(m), from, out);
        }
    }

    /** One element as the float64 path computes it: Σₖ in order from 0, times s, plus w, one rounding. */
    private void exact(int i, int j, int from, MemorySegment out) {
        double acc = 0;
        for (int k = 0; k < r; k++) {
            acc = Math.fma(left64[i * r + k], rightT[j * r + k], acc);
        }
        double w = HalfFloat.bf16ToFloat(base.get(BF16, 2L * ((long) i * cols + j)));
        out.set(BF16, 2L * ((long) (i - from) * cols + j), HalfFloat.doubleToBf16(w + scale * acc));
    }

    /**
     * Merges a 4 × 64 slice of {@code sample} (a bf16 weight of the model, so the same kind of memory as the
     * real tensors) {@code calls} times with made-up factors whose large terms cancel in the second vector of
     * columns, so that its lanes take the exact path and the others do not: every branch of the kernel runs,
     * and the JIT compiles it for the real tensors instead of recompiling it when they arrive.
     */
    static void warmUp(TensorView sample, int calls) {
        if (H == null || sample.dtype() != DType.BF16 || sample.elementCount() < 4L * 4 * F.length()) {
            return;
        }
        int rows = 4;
        int cols = 4 * F.length();
        int r = 16;
        double[] left = new double[rows * r];
        double[] right = new double[r * cols];
        for (int i = 0; i < left.length; i++) {
            left[i] = 0x1p-8 * (1 + i % 3);
        }
        for (int k = 0; k < r; k++) {
            for (int j = 0; j < cols; j++) {
                right[k * cols + j] = j / F.length() == 1 ? (k % 2 == 0 ? 0x1p10 : -0x1p10) : 0x1p-12 * (j % 7 - 3);
            }
        }
        TensorView base = new TensorView(sample.name(), DType.BF16, Shape.of(rows, cols),
                sample.data().asSlice(0, 2L * rows * cols));
        Bf16FastMerge m = new Bf16FastMerge(base, new LowRankTerm(left, right, rows, r, cols, 2.0, "warm-up", true));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(2L * rows * cols, 64);
            for (int c = 0; c < calls; c++) {
                m.mergeRows(0, rows, out);
            }
        }
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static float roundUp(double x) {
        float f = (float) x;
        return f < x ? Math.nextUp(f) : f;
    }
}
