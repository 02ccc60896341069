package dev.loraforge.tensor;

import java.util.Arrays;

/** Dimensions of a tensor, outermost first (row-major, as safetensors and PyTorch store them). */
public record Shape(long[] dims) {

    public Shape {
        dims = dims.clone();
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("negative dimension " + dims[i] + " at index " + i);
            }
        }
        elementCountOf(dims); // rejects overflow up front
    }

    public static Shape of(long... dims) {
        return new Shape(dims);
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

    /** Number of elements; 1 for a scalar, 0 when any dimension is 0. */
    public long elementCount() {
        return elementCountOf(dims);
    }

    /** Bytes needed for this shape in {@code dtype}, overflow-checked. */
    public long byteCount(DType dtype) {
        return dtype.byteCount(elementCount());
    }

    /** Product of dims with overflow checks; the product is checked even when a later dim is 0. */
    public static long elementCountOf(long[] dims) {
        long n = 1;
        boolean zero = false;
        for (long d : dims) {
            if (d == 0) {
                zero = true;
            } else {
                n = Math.multiplyExact(n, d);
            }
        }
        return zero ? 0 : n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
