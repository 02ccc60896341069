package dev.loraforge.format.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor as the GGUF header describes it. {@code dims} are in ggml order: {@code dims[0]} (ne[0]) is the
 * contiguous row length, the reverse of the numpy/safetensors shape. {@code offset} is relative to the start
 * of the data section; {@code byteSize} is the unpadded size of the data.
 */
public record GgufTensorInfo(String name, GgmlType type, long[] dims, long offset, long byteSize) {
    public GgufTensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    public long dim(int i) {
        return dims[i];
    }

    /** Product of the dims (1 for zero dims). */
    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The numpy-order shape: dims reversed. */
    public long[] shape() {
        long[] s = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            s[i] = dims[dims.length - 1 - i];
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
                && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, type, Arrays.hashCode(dims), offset, byteSize);
    }

    @Override
    public String toString() {
        return "GgufTensorInfo[" + name + " " + type + " " + Arrays.toString(dims) + " @" + offset + " " + byteSize + " B]";
    }
}
