package dev.loraforge.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A named tensor over bytes that live elsewhere (usually a mapped file): zero-copy, little-endian.
 * The segment holds exactly {@code shape.byteCount(dtype)} bytes.
 */
public record TensorView(String name, DType dtype, Shape shape, MemorySegment data) {

    public static final ValueLayout.OfShort I16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32_LE =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64_LE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public TensorView {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        long expected = shape.byteCount(dtype);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "': " + data.byteSize()
                    + " bytes given, " + expected + " expected for " + dtype + " " + shape);
        }
    }

    public long elementCount() {
        return shape.elementCount();
    }

    public long byteSize() {
        return data.byteSize();
    }

    /** Element {@code i} (flat, row-major) as a double; exact for every float type up to F64. */
    public double getDouble(long i) {
        return switch (dtype) {
            case F64 -> data.getAtIndex(F64_LE, i);
            case F32 -> data.getAtIndex(F32_LE, i);
            case F16 -> HalfFloat.f16ToFloat(data.getAtIndex(I16_LE, i));
            case BF16 -> HalfFloat.bf16ToFloat(data.getAtIndex(I16_LE, i));
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            case I16 -> data.getAtIndex(I16_LE, i);
            case U16 -> data.getAtIndex(I16_LE, i) & 0xFFFF;
            case I32 -> data.getAtIndex(I32_LE, i);
            case U32 -> data.getAtIndex(I32_LE, i) & 0xFFFFFFFFL;
            case I64 -> data.getAtIndex(I64_LE, i);
            default -> throw new UnsupportedOperationException(
                    "tensor '" + name + "': cannot read " + dtype + " as a number");
        };
    }

    /** Element {@code i} as a float (exact for F32, F16, BF16). */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32_LE, i);
            case F16 -> HalfFloat.f16ToFloat(data.getAtIndex(I16_LE, i));
            case BF16 -> HalfFloat.bf16ToFloat(data.getAtIndex(I16_LE, i));
            default -> (float) getDouble(i);
        };
    }

    /** Copies {@code len} elements from flat index {@code from} into {@code dst} as floats. */
    public void readFloats(long from, float[] dst, int off, int len) {
        for (int k = 0; k < len; k++) {
            dst[off + k] = getFloat(from + k);
        }
    }

    /** Copies {@code len} elements from flat index {@code from} into {@code dst} as doubles (bulk, exact). */
    public void readDoubles(long from, double[] dst, int off, int len) {
        java.util.Objects.checkFromIndexSize(from, len, elementCount());
        switch (dtype) {
            case BF16 -> FloatConversions.bf16ToDouble(data, 2 * from, dst, off, len);
            case F64 -> MemorySegment.copy(data, F64_LE, 8 * from, dst, off, len);
            case F32 -> {
                for (int k = 0; k < len; k++) {
                    dst[off + k] = data.getAtIndex(F32_LE, from + k);
                }
            }
            case F16 -> {
                for (int k = 0; k < len; k++) {
                    dst[off + k] = Float.float16ToFloat(data.getAtIndex(I16_LE, from + k));
                }
            }
            default -> {
                for (int k = 0; k < len; k++) {
                    dst[off + k] = getDouble(from + k);
                }
            }
        }
    }

    /** The whole tensor as floats; for tensors under 2^31 elements. */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new UnsupportedOperationException("tensor '" + name + "' has " + n + " elements, too many for one array");
        }
        float[] out = new float[(int) n];
        readFloats(0, out, 0, out.length);
        return out;
    }

    @Override
    public String toString() {
        return "TensorView[" + name + " " + dtype + " " + shape + "]";
    }
}
