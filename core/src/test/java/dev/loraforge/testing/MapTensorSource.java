package dev.loraforge.testing;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** An in-memory {@link TensorSource} over heap segments, for tests that need a source without a file format. */
public final class MapTensorSource implements TensorSource {
    private final Map<String, TensorView> tensors = new LinkedHashMap<>();

    public MapTensorSource put(String name, DType dtype, long[] shape, byte[] data) {
        tensors.put(name, new TensorView(name, dtype, new Shape(shape), MemorySegment.ofArray(data.clone())));
        return this;
    }

    public MapTensorSource put(String name, float[] values, long... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * 4]);
        for (int i = 0; i < values.length; i++) {
            seg.setAtIndex(TensorView.F32_LE, i, values[i]);
        }
        tensors.put(name, new TensorView(name, DType.F32, new Shape(shape), seg));
        return this;
    }

    /** All tensors of a safetensors file read with {@link SafetensorsTwin}. */
    public static MapTensorSource of(Map<String, SafetensorsTwin.Tensor> twin) {
        MapTensorSource s = new MapTensorSource();
        twin.forEach((k, t) -> s.put(k, DType.fromFileName(t.dtype()).orElseThrow(), t.shape(), t.data()));
        return s;
    }

    @Override
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    @Override
    public Optional<TensorView> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public void close() {
    }
}
