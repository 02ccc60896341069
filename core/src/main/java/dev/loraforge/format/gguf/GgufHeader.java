package dev.loraforge.format.gguf;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything before a GGUF file's tensor data, validated: version, KV pairs and tensor infos in file order,
 * the alignment, and where the data section starts ({@code dataOffset}, from the start of the file).
 */
public record GgufHeader(int version, List<GgufKv> kvs, List<GgufTensorInfo> tensors, int alignment, long dataOffset) {
    public GgufHeader {
        kvs = List.copyOf(kvs);
        tensors = List.copyOf(tensors);
    }

    public Optional<GgufValue> find(String key) {
        for (GgufKv kv : kvs) {
            if (kv.key().equals(key)) {
                return Optional.of(kv.value());
            }
        }
        return Optional.empty();
    }

    /** The KV pairs by key, in file order. */
    public Map<String, GgufValue> kvMap() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        for (GgufKv kv : kvs) {
            m.put(kv.key(), kv.value());
        }
        return m;
    }

    /** End of the last tensor's data (unpadded), relative to the data section; 0 without tensors. */
    public long dataEnd() {
        long end = 0;
        for (GgufTensorInfo t : tensors) {
            end = Math.max(end, Math.addExact(t.offset(), t.byteSize()));
        }
        return end;
    }
}
