package dev.loraforge.format.safetensors;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import java.util.Objects;

/** What a writer needs to know about a tensor before its bytes exist: name, element type, shape. */
public record TensorSpec(String name, DType dtype, Shape shape) {

    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        shape.byteCount(dtype); // rejects overflow and sub-byte counts that do not end on a byte
    }

    public static TensorSpec of(String name, DType dtype, long... dims) {
        return new TensorSpec(name, dtype, Shape.of(dims));
    }

    /** Bytes of the tensor's data. */
    public long byteSize() {
        return shape.byteCount(dtype);
    }
}
