package dev.loraforge.format.gguf;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * A tensor of an open GGUF file. {@code dims} are in ggml order ({@code dims[0]} = ne[0] = row length);
 * {@code offset} is relative to the data section; {@code data} is the {@code byteSize} bytes of the mapped
 * file, valid until the file is closed.
 */
public record GgufTensor(String name, GgmlType type, long[] dims, long offset, long byteSize, MemorySegment data) {
    public GgufTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        dims = dims.clone();
        if (data.byteSize() != byteSize) {
            throw new IllegalArgumentException("tensor '" + name + "': segment of " + data.byteSize() + " bytes for "
                    + byteSize + " bytes of data");
        }
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The numpy-order (row-major, outermost first) shape: dims reversed. */
    public long[] shape() {
        long[] s = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            s[i] = dims[dims.length - 1 - i];
        }
        return s;
    }

    /** The safetensors dtype of a plain (unquantized) ggml type. */
    public static Optional<DType> dtypeOf(GgmlType type) {
        return Optional.ofNullable(switch (type) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            case F64 -> DType.F64;
            case I8 -> DType.I8;
            case I16 -> DType.I16;
            case I32 -> DType.I32;
            case I64 -> DType.I64;
            default -> null;
        });
    }

    /**
     * A zero-copy {@link TensorView} over the data, with the numpy-order shape.
     * @throws UnsupportedOperationException for quantized types, which need a codec
     */
    public TensorView view() {
        DType dt = dtypeOf(type).orElseThrow(() -> new UnsupportedOperationException(
                "tensor '" + name + "' is " + type + ", which has no plain element type; dequantize it first"));
        return new TensorView(name, dt, Shape.of(shape()), data);
    }

    /** The header facts without the data. */
    public GgufTensorInfo info() {
        return new GgufTensorInfo(name, type, dims, offset, byteSize);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
                && offset == t.offset && byteSize == t.byteSize && data.equals(t.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, type, Arrays.hashCode(dims), offset, byteSize);
    }

    @Override
    public String toString() {
        return "GgufTensor[" + name + " " + type + " " + Arrays.toString(dims) + " @" + offset + " " + byteSize + " B]";
    }
}
