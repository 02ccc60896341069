package dev.loraforge.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Bulk conversions between {@code float[]} and little-endian 16-bit float data in a segment (a mapped
 * tensor, an output buffer). bfloat16 comes in a pair: a plain scalar loop (the reference, element for
 * element {@link HalfFloat}) and a {@code jdk.incubator.vector} version with identical results; the system
 * property {@value #VECTOR_PROPERTY}{@code =false} forces the scalar one. float16 uses the JDK's
 * {@link Float#float16ToFloat}/{@link Float#floatToFloat16} in plain loops over arrays, which the JIT vectorizes
 * itself (blocks copied in bulk between the segment and a {@code short[]}), paired with a per-element reference.
 * float64 sources round once (see {@link HalfFloat#doubleToBf16}).
 */
public final class FloatConversions {
    /** Set to {@code false} to use only the scalar loops. */
    public static final String VECTOR_PROPERTY = "loraforge.vector";

    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(INTS.vectorBitSize() / 2));
    // float64 kernels: one double vector, and floats, ints and shorts with the same lane count
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    private static final boolean DOUBLE_KERNELS = DOUBLES.vectorBitSize() >= 256;
    private static final VectorSpecies<Float> D_FLOATS = DOUBLE_KERNELS
            ? VectorSpecies.of(float.class, VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2)) : null;
    private static final VectorSpecies<Integer> D_INTS = DOUBLE_KERNELS
            ? VectorSpecies.of(int.class, VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2)) : null;
    private static final VectorSpecies<Short> D_SHORTS = DOUBLE_KERNELS
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(DOUBLES.vectorBitSize() / 4)) : null;

    private FloatConversions() {
    }

    /** True unless {@value #VECTOR_PROPERTY} is {@code false}; read on each call so tests can flip it. */
    public static boolean vectorEnabled() {
        return !"false".equalsIgnoreCase(System.getProperty(VECTOR_PROPERTY));
    }

    /** {@code n} bf16 values from {@code src} at byte {@code srcOffset} into {@code dst[dstIndex..]}. */
    public static void bf16ToFloat(MemorySegment src, long srcOffset, float[] dst, int dstIndex, int n) {
        if (vectorEnabled() && vectorReadable(src)) {
            bf16ToFloatVector(src, srcOffset, dst, dstIndex, n);
        } else {
            bf16ToFloatScalar(src, srcOffset, dst, dstIndex, n);
        }
    }

    /** {@code n} floats rounded to bf16 (nearest even, NaN kept quiet with its sign) into {@code dst}. */
    public static void floatToBf16(float[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        if (vectorEnabled() && vectorReadable(dst)) {
            floatToBf16Vector(src, srcIndex, dst, dstOffset, n);
        } else {
            floatToBf16Scalar(src, srcIndex, dst, dstOffset, n);
        }
    }

    /** {@code n} float16 values from {@code src} at byte {@code srcOffset} into {@code dst[dstIndex..]}. */
    public static void f16ToFloat(MemorySegment src, long srcOffset, float[] dst, int dstIndex, int n) {
        if (vectorEnabled()) {
            f16ToFloatBlocked(src, srcOffset, dst, dstIndex, n);
        } else {
            f16ToFloatScalar(src, srcOffset, dst, dstIndex, n);
        }
    }

    /** {@code n} floats rounded to float16 (nearest even) into {@code dst}. */
    public static void floatToF16(float[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        if (vectorEnabled()) {
            floatToF16Blocked(src, srcIndex, dst, dstOffset, n);
        } else {
            floatToF16Scalar(src, srcIndex, dst, dstOffset, n);
        }
    }

    /**
     * {@code n} bf16 values at byte {@code srcOffset} of {@code src} to float16 at byte {@code dstOffset} of
     * {@code dst}: exactly {@link #bf16ToFloat} then {@link #floatToF16} (nearest even, NaN as
     * {@link Float#floatToFloat16}), in one pass without a caller's float row.
     */
    public static void bf16ToF16(MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset, int n) {
        if (vectorEnabled()) {
            bf16ToF16Blocked(src, srcOffset, dst, dstOffset, n);
        } else {
            bf16ToF16Scalar(src, srcOffset, dst, dstOffset, n);
        }
    }

    // ---------------------------------------------------------------- float16 pairs: scalar reference, blocked
    // The blocked versions copy a block of 16-bit values between the segment and a short[] in bulk and convert
    // in plain array loops, which C2 vectorizes (float16 <-> float32 and the bf16 shift); element accesses on a
    // segment in the loop body are not vectorized.

    private static final int BLOCK = 4096;

    private static final class Scratch {
        final short[] shorts = new short[BLOCK];
        final float[] floats = new float[BLOCK];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static void f16ToFloatScalar(MemorySegment src, long srcOffset, float[] dst, int dstIndex, int n) {
        checkRange(src, srcOffset, n);
        for (int i = 0; i < n; i++) {
            dst[dstIndex + i] = Float.float16ToFloat(src.get(TensorView.I16_LE, srcOffset + 2L * i));
        }
    }

    static void floatToF16Scalar(float[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        checkRange(dst, dstOffset, n);
        for (int i = 0; i < n; i++) {
            dst.set(TensorView.I16_LE, dstOffset + 2L * i, Float.floatToFloat16(src[srcIndex + i]));
        }
    }

    static void bf16ToF16Scalar(MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset, int n) {
        checkRange(src, srcOffset, n);
        checkRange(dst, dstOffset, n);
        for (int i = 0; i < n; i++) {
            float f = HalfFloat.bf16ToFloat(src.get(TensorView.I16_LE, srcOffset + 2L * i));
            dst.set(TensorView.I16_LE, dstOffset + 2L * i, Float.floatToFloat16(f));
        }
    }

    static void f16ToFloatBlocked(MemorySegment src, long srcOffset, float[] dst, int dstIndex, int n) {
        checkRange(src, srcOffset, n);
        java.util.Objects.checkFromIndexSize(dstIndex, n, dst.length);
        short[] h = SCRATCH.get().shorts;
        for (int i = 0; i < n; i += BLOCK) {
            int m = Math.min(BLOCK, n - i);
            MemorySegment.copy(src, TensorView.I16_LE, srcOffset + 2L * i, h, 0, m);
            int base = dstIndex + i;
            for (int k = 0; k < m; k++) {
                dst[base + k] = Float.float16ToFloat(h[k]);
            }
        }
    }

    static void floatToF16Blocked(float[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        checkRange(dst, dstOffset, n);
        java.util.Objects.checkFromIndexSize(srcIndex, n, src.length);
        short[] h = SCRATCH.get().shorts;
        for (int i = 0; i < n; i += BLOCK) {
            int m = Math.min(BLOCK, n - i);
            int base = srcIndex + i;
            for (int k = 0; k < m; k++) {
                h[k] = Float.floatToFloat16(src[base + k]);
            }
            MemorySegment.copy(h, 0, dst, TensorView.I16_LE, dstOffset + 2L * i, m);
        }
    }

    static void bf16ToF16Blocked(MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset, int n) {
        checkRange(src, srcOffset, n);
        checkRange(dst, dstOffset, n);
        Scratch s = SCRATCH.get();
        short[] h = s.shorts;
        float[] f = s.floats;
        for (int i = 0; i < n; i += BLOCK) {
            int m = Math.min(BLOCK, n - i);
            MemorySegment.copy(src, TensorView.I16_LE, srcOffset + 2L * i, h, 0, m);
            // two loops: each vectorizes on its own, the fused one does not
            for (int k = 0; k < m; k++) {
                f[k] = Float.intBitsToFloat(h[k] << 16);
            }
            for (int k = 0; k < m; k++) {
                h[k] = Float.floatToFloat16(f[k]);
            }
            MemorySegment.copy(h, 0, dst, TensorView.I16_LE, dstOffset + 2L * i, m);
        }
    }

    /** {@code n} doubles rounded once to bf16 into {@code dst}. */
    public static void doubleToBf16(double[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        if (DOUBLE_KERNELS && vectorEnabled() && vectorReadable(dst)) {
            doubleToBf16Vector(src, srcIndex, dst, dstOffset, n);
        } else {
            doubleToBf16Scalar(src, srcIndex, dst, dstOffset, n);
        }
    }

    /** {@code n} bf16 values from {@code src} at byte {@code srcOffset} into {@code dst[dstIndex..]}; exact. */
    public static void bf16ToDouble(MemorySegment src, long srcOffset, double[] dst, int dstIndex, int n) {
        if (DOUBLE_KERNELS && vectorEnabled() && vectorReadable(src)) {
            bf16ToDoubleVector(src, srcOffset, dst, dstIndex, n);
        } else {
            bf16ToDoubleScalar(src, srcOffset, dst, dstIndex, n);
        }
    }

    /** {@code n} doubles rounded once to float16 into {@code dst}. */
    public static void doubleToF16(double[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        checkRange(dst, dstOffset, n);
        for (int i = 0; i < n; i++) {
            dst.set(TensorView.I16_LE, dstOffset + 2L * i, HalfFloat.doubleToF16(src[srcIndex + i]));
        }
    }

    // ---------------------------------------------------------------- bf16 pair: scalar reference, vector

    static void bf16ToFloatScalar(MemorySegment src, long srcOffset, float[] dst, int dstIndex, int n) {
        checkRange(src, srcOffset, n);
        for (int i = 0; i < n; i++) {
            dst[dstIndex + i] = HalfFloat.bf16ToFloat(src.get(TensorView.I16_LE, srcOffset + 2L * i));
        }
    }

    static void floatToBf16Scalar(float[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        checkRange(dst, dstOffset, n);
        for (int i = 0; i < n; i++) {
            dst.set(TensorView.I16_LE, dstOffset + 2L * i, HalfFloat.floatToBf16(src[srcIndex + i]));
        }
    }

    static void bf16ToFloatVector(MemorySegment src, long srcOffset, float[] dst, int dstIndex, int n) {
        checkRange(src, srcOffset, n);
        java.util.Objects.checkFromIndexSize(dstIndex, n, dst.length);
        int step = INTS.length();
        int upper = INTS.loopBound(n);
        int i = 0;
        for (; i < upper; i += step) {
            ShortVector s = ShortVector.fromMemorySegment(SHORTS, src, srcOffset + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector x = (IntVector) s.convertShape(VectorOperators.S2I, INTS, 0);
            x.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstIndex + i);
        }
        bf16ToFloatScalar(src, srcOffset + 2L * i, dst, dstIndex + i, n - i);
    }

    static void floatToBf16Vector(float[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        checkRange(dst, dstOffset, n);
        java.util.Objects.checkFromIndexSize(srcIndex, n, src.length);
        int step = FLOATS.length();
        int upper = FLOATS.loopBound(n);
        int i = 0;
        for (; i < upper; i += step) {
            IntVector x = FloatVector.fromArray(FLOATS, src, srcIndex + i).reinterpretAsInts();
            IntVector high = x.lanewise(VectorOperators.LSHR, 16);
            // same steps as HalfFloat.floatToBf16: add 0x7FFF plus the kept lsb, keep the top half
            IntVector rounded = x.add(0x7FFF).add(high.and(1)).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = x.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
            IntVector r = rounded.blend(high.or(0x0040), nan);
            ShortVector s = (ShortVector) r.convertShape(VectorOperators.I2S, SHORTS, 0);
            s.intoMemorySegment(dst, dstOffset + 2L * i, ByteOrder.LITTLE_ENDIAN);
        }
        floatToBf16Scalar(src, srcIndex + i, dst, dstOffset + 2L * i, n - i);
    }

    // ---------------------------------------------------------------- bf16 <-> float64 pair

    static void bf16ToDoubleScalar(MemorySegment src, long srcOffset, double[] dst, int dstIndex, int n) {
        checkRange(src, srcOffset, n);
        for (int i = 0; i < n; i++) {
            dst[dstIndex + i] = HalfFloat.bf16ToFloat(src.get(TensorView.I16_LE, srcOffset + 2L * i));
        }
    }

    static void doubleToBf16Scalar(double[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        checkRange(dst, dstOffset, n);
        for (int i = 0; i < n; i++) {
            dst.set(TensorView.I16_LE, dstOffset + 2L * i, HalfFloat.doubleToBf16(src[srcIndex + i]));
        }
    }

    static void bf16ToDoubleVector(MemorySegment src, long srcOffset, double[] dst, int dstIndex, int n) {
        checkRange(src, srcOffset, n);
        java.util.Objects.checkFromIndexSize(dstIndex, n, dst.length);
        int step = DOUBLES.length();
        int upper = DOUBLES.loopBound(n);
        int i = 0;
        for (; i < upper; i += step) {
            ShortVector s = ShortVector.fromMemorySegment(D_SHORTS, src, srcOffset + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector x = (IntVector) s.convertShape(VectorOperators.S2I, D_INTS, 0);
            FloatVector f = x.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            ((DoubleVector) f.convertShape(VectorOperators.F2D, DOUBLES, 0)).intoArray(dst, dstIndex + i);
        }
        bf16ToDoubleScalar(src, srcOffset + 2L * i, dst, dstIndex + i, n - i);
    }

    /**
     * The steps of {@link HalfFloat#doubleToBf16} lane by lane: float32 rounded to odd (convert, then step
     * back toward zero when the conversion went away from zero, and set the last bit when inexact), then
     * nearest-even to bf16. A vector holding a NaN is done by the scalar code (payload rules, and rare).
     */
    static void doubleToBf16Vector(double[] src, int srcIndex, MemorySegment dst, long dstOffset, int n) {
        checkRange(dst, dstOffset, n);
        java.util.Objects.checkFromIndexSize(srcIndex, n, src.length);
        int step = DOUBLES.length();
        int upper = DOUBLES.loopBound(n);
        int i = 0;
        for (; i < upper; i += step) {
            DoubleVector d = DoubleVector.fromArray(DOUBLES, src, srcIndex + i);
            VectorMask<Double> nan = d.compare(VectorOperators.NE, d);
            if (nan.anyTrue()) {
                doubleToBf16Scalar(src, srcIndex + i, dst, dstOffset + 2L * i, step);
                continue;
            }
            FloatVector f = (FloatVector) d.convertShape(VectorOperators.D2F, D_FLOATS, 0);
            DoubleVector back = (DoubleVector) f.convertShape(VectorOperators.F2D, DOUBLES, 0);
            VectorMask<Double> inexact = back.compare(VectorOperators.NE, d);
            VectorMask<Double> away = back.abs().compare(VectorOperators.GT, d.abs());
            IntVector bits = f.reinterpretAsInts()
                    .lanewise(VectorOperators.SUB, 1, away.cast(D_INTS))
                    .lanewise(VectorOperators.OR, 1, inexact.cast(D_INTS));
            IntVector high = bits.lanewise(VectorOperators.LSHR, 16);
            IntVector rounded = bits.add(0x7FFF).add(high.and(1)).lanewise(VectorOperators.LSHR, 16);
            ShortVector s = (ShortVector) rounded.convertShape(VectorOperators.I2S, D_SHORTS, 0);
            s.intoMemorySegment(dst, dstOffset + 2L * i, ByteOrder.LITTLE_ENDIAN);
        }
        doubleToBf16Scalar(src, srcIndex + i, dst, dstOffset + 2L * i, n - i);
    }

    /** The Vector API reads and writes native segments and heap segments over byte[] only. */
    private static boolean vectorReadable(MemorySegment s) {
        return s.isNative() || s.heapBase().map(b -> b instanceof byte[]).orElse(false);
    }

    private static void checkRange(MemorySegment s, long offset, int n) {
        if (n < 0 || offset < 0 || offset > s.byteSize() || 2L * n > s.byteSize() - offset) {
            throw new IndexOutOfBoundsException(n + " 16-bit values at byte " + offset + " do not fit in "
                    + s.byteSize() + " bytes");
        }
    }
}
