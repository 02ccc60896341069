package dev.loraforge.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot product of float activations with one row of GGUF Q8_0 blocks read where they lie (usually a mapped
 * file): {@code block_q8_0 { ggml_half d; int8_t qs[32]; }}, 34 bytes, value = d·q. Per block the 32
 * int8·float products are summed in float, then scaled by d once and added to the row's float sum: no
 * dequantized copy of the row, one multiply per block for the scale. A scalar reference and a Vector API
 * kernel; they differ only in float summation order.
 */
public final class Q8_0Dot {

    /** Values per block. */
    public static final int QK = 32;
    /** Bytes per block: f16 scale + 32 int8. */
    public static final int BLOCK_BYTES = 2 + QK;

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** The vector kernel handles 512- and 256-bit float vectors; other widths use the scalar one. */
    static final boolean VECTOR = MatVec.VECTOR && (F.length() == 16 || F.length() == 8);
    /** As many int8 as {@link #F} has lanes: 128 bits for AVX-512, 64 for AVX2. */
    private static final VectorSpecies<Byte> BF = VECTOR
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : ByteVector.SPECIES_64;

    private Q8_0Dot() {
    }

    private static final java.util.concurrent.atomic.AtomicBoolean WARM = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Runs the kernel on {@code w}'s first row until the JIT has compiled it (once per JVM, ~0.1 s), so a
     * model load and not the first token pays for it: interpreted, the Vector API is ~100x slower. The
     * row must be of the segment kind decoding will see (a heap segment here would make C2 speculate on
     * it and decode a mapped file with slower code).
     */
    static void warmUp(MemorySegment w, int blocks) {
        if (!WARM.compareAndSet(false, true)) {
            return;
        }
        float[] x = new float[blocks * QK];
        float sink = 0;
        for (int i = 0, n = Math.max(1, 256_000 / blocks); i < n; i++) {
            sink += dot(w, 0, x, 0, blocks);
        }
        if (sink != 0) { // x is zero: keeps the loop from being optimized away
            throw new AssertionError(sink);
        }
    }

    /** Bytes of a Q8_0 row of {@code cols} values ({@code cols} a multiple of 32). */
    public static long rowBytes(int cols) {
        return (long) (cols / QK) * BLOCK_BYTES;
    }

    /** {@code Σ_i dequant(w)[i]·x[xOff+i]} over {@code blocks} blocks starting at byte {@code off}; picks the kernel. */
    public static float dot(MemorySegment w, long off, float[] x, int xOff, int blocks) {
        return VECTOR ? dotVector(w, off, x, xOff, blocks) : dotScalar(w, off, x, xOff, blocks);
    }

    /** Reference: per block a float sum of q·x left to right, times d, added to a float total. */
    public static float dotScalar(MemorySegment w, long off, float[] x, int xOff, int blocks) {
        float total = 0;
        for (int b = 0; b < blocks; b++) {
            long bo = off + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(w.get(HALF, bo));
            float s = 0;
            int xo = xOff + b * QK;
            for (int j = 0; j < QK; j++) {
                s += w.get(ValueLayout.JAVA_BYTE, bo + 2 + j) * x[xo + j];
            }
            total += s * d;
        }
        return total;
    }

    /**
     * Vector API: the block's 32 int8 widened to float lanes (2 × 16 or 4 × 8) and fma'd with x into a
     * block sum, which one fma with the broadcast scale adds to the lane sums. Even and odd blocks go to
     * two accumulators so consecutive blocks do not wait on each other's fma. (Two rows per call, sharing
     * the x loads, measured 1.5x slower here: the prefetcher follows one stream better.)
     */
    public static float dotVector(MemorySegment w, long off, float[] x, int xOff, int blocks) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocks; b += 2) {
            long bo = off + (long) b * BLOCK_BYTES;
            int xo = xOff + b * QK;
            acc0 = block(w, bo, x, xo).fma(scale(w, bo), acc0);
            acc1 = block(w, bo + BLOCK_BYTES, x, xo + QK).fma(scale(w, bo + BLOCK_BYTES), acc1);
        }
        if (b < blocks) {
            long bo = off + (long) b * BLOCK_BYTES;
            acc0 = block(w, bo, x, xOff + b * QK).fma(scale(w, bo), acc0);
        }
        return sum(acc0.add(acc1));
    }

    /**
     * The lanes added left to right. {@code reduceLanes(ADD)} leaves the float order open, and its JIT
     * intrinsic and interpreted fallback do differ by an ulp, which would make a row's bits depend on
     * whether the kernel was compiled yet.
     */
    private static float sum(FloatVector v) {
        float s = 0;
        for (int i = 0; i < F.length(); i++) {
            s += v.lane(i);
        }
        return s;
    }

    /** One block's q·x in float lanes (not yet scaled). */
    private static FloatVector block(MemorySegment w, long bo, float[] x, int xo) {
        if (F.length() == 16) {
            FloatVector s = widen(w, bo + 2).mul(FloatVector.fromArray(F, x, xo));
            return widen(w, bo + 18).fma(FloatVector.fromArray(F, x, xo + 16), s);
        }
        FloatVector s = widen(w, bo + 2).mul(FloatVector.fromArray(F, x, xo));
        s = widen(w, bo + 10).fma(FloatVector.fromArray(F, x, xo + 8), s);
        s = widen(w, bo + 18).fma(FloatVector.fromArray(F, x, xo + 16), s);
        return widen(w, bo + 26).fma(FloatVector.fromArray(F, x, xo + 24), s);
    }

    private static FloatVector scale(MemorySegment w, long bo) {
        return FloatVector.broadcast(F, Float.float16ToFloat(w.get(HALF, bo)));
    }

    /**
     * F.length() int8 at {@code at} as float lanes: one narrow load and a plain widening cast, which C2 turns
     * into two instructions (part 1 of a wider load would add a shuffle and inlining depth).
     */
    private static FloatVector widen(MemorySegment w, long at) {
        return (FloatVector) ByteVector.fromMemorySegment(BF, w, at, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2F, F, 0);
    }
}
