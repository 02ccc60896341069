package dev.loraforge.model;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Test-only safetensors reader over a classpath resource (heap copy, no validation beyond the obvious).
 * TODO(model): replace with format.safetensors.SafetensorsFile once branch safetensors lands.
 */
final class TestSafetensors implements TensorSource {

    private final String label;
    private final Map<String, TensorView> tensors = new LinkedHashMap<>();

    private TestSafetensors(String label, byte[] bytes) throws IOException {
        this.label = label;
        MemorySegment all = Arena.ofAuto().allocate(bytes.length, 8);
        MemorySegment.copy(bytes, 0, all, ValueLayout.JAVA_BYTE, 0, bytes.length);
        long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        Map<String, Object> m = JSON.std.mapFrom(header);
        long base = 8 + headerLen;
        for (var e : m.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> t = (Map<String, Object>) e.getValue();
            DType dt = DType.fromFileName((String) t.get("dtype")).orElseThrow();
            List<?> shapeList = (List<?>) t.get("shape");
            long[] dims = shapeList.stream().mapToLong(o -> ((Number) o).longValue()).toArray();
            List<?> offs = (List<?>) t.get("data_offsets");
            long from = ((Number) offs.get(0)).longValue();
            long to = ((Number) offs.get(1)).longValue();
            tensors.put(e.getKey(), new TensorView(e.getKey(), dt, new Shape(dims), all.asSlice(base + from, to - from)));
        }
    }

    static TestSafetensors resource(String path) {
        try (InputStream in = TestSafetensors.class.getResourceAsStream("/fixtures/" + path)) {
            if (in == null) {
                throw new IllegalStateException("no test resource fixtures/" + path);
            }
            return new TestSafetensors(path, in.readAllBytes());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public List<String> names() {
        return new ArrayList<>(tensors.keySet());
    }

    @Override
    public Optional<TensorView> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return label;
    }
}
