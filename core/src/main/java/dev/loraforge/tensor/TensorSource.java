package dev.loraforge.tensor;

import java.util.List;
import java.util.Optional;

/**
 * A set of named tensors that can be read one at a time: a safetensors file, a sharded model folder,
 * an adapter. Views stay valid until the source is closed.
 */
public interface TensorSource extends AutoCloseable {

    /** Tensor names in a stable order (the order of the file, or sorted for a sharded model). */
    List<String> names();

    /** The tensor, or empty when there is none by that name. */
    Optional<TensorView> find(String name);

    /** Whether there is a tensor by that name (without reading it, where the source can tell). */
    default boolean contains(String name) {
        return find(name).isPresent();
    }

    /**
     * Row access to a matrix that this source would otherwise have to decode whole for {@link #find} (a
     * quantized GGUF tensor); empty when {@link #find} is the way (views in place, or no such tensor).
     */
    default Optional<RowReader> rowReader(String name) {
        return Optional.empty();
    }

    /** The tensor; fails with an exception naming the source when it is absent. */
    default TensorView get(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException("no tensor '" + name + "' in " + this));
    }

    @Override
    void close();
}
