package dev.loraforge.format.gguf;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The facts {@code loraforge inspect} shows for a GGUF file (like llama.cpp's gguf-dump): header numbers,
 * every KV pair, every tensor, and totals per ggml type. Built from an open file without reading tensor data.
 */
public record GgufSummary(String file, long fileSize, int version, int alignment, long dataOffset,
        List<GgufKv> kvs, List<GgufTensorInfo> tensors, List<TypeTotal> byType, long totalElements, long totalBytes) {

    /** Tensors of one ggml type. */
    public record TypeTotal(GgmlType type, int tensors, long elements, long bytes) {
    }

    public GgufSummary {
        kvs = List.copyOf(kvs);
        tensors = List.copyOf(tensors);
        byType = List.copyOf(byType);
    }

    public static GgufSummary of(GgufFile f) {
        Map<GgmlType, long[]> acc = new EnumMap<>(GgmlType.class);
        long elements = 0;
        long bytes = 0;
        List<GgufTensorInfo> infos = new ArrayList<>();
        for (GgufTensor t : f.tensors()) {
            infos.add(t.info());
            long n = t.elementCount();
            long[] a = acc.computeIfAbsent(t.type(), k -> new long[3]);
            a[0]++;
            a[1] = Math.addExact(a[1], n);
            a[2] = Math.addExact(a[2], t.byteSize());
            elements = Math.addExact(elements, n);
            bytes = Math.addExact(bytes, t.byteSize());
        }
        List<TypeTotal> byType = new ArrayList<>();
        acc.forEach((type, a) -> byType.add(new TypeTotal(type, (int) a[0], a[1], a[2])));
        return new GgufSummary(f.path().getFileName().toString(), f.fileSize(), f.version(), f.alignment(),
                f.dataOffset(), f.kvs(), infos, byType, elements, bytes);
    }

    /** {@code general.architecture}, when present and a string. */
    public Optional<String> architecture() {
        for (GgufKv kv : kvs) {
            if (kv.key().equals(GgufKeys.ARCHITECTURE) && kv.value() instanceof GgufValue.Str s) {
                return Optional.of(s.value());
            }
        }
        return Optional.empty();
    }

    /** Average bits per element over all tensors (0 without elements). */
    public double bitsPerWeight() {
        return totalElements == 0 ? 0 : totalBytes * 8.0 / totalElements;
    }

    /** The type name as gguf-dump shows it: {@code UINT32}, {@code [STRING]}, {@code [[INT32]]}. */
    public static String typeName(GgufValue v) {
        if (v instanceof GgufValue.Array a) {
            if (a.elementType() == GgufValueType.ARRAY) {
                return "[" + (a.size() > 0 ? typeName(a.get(0)) : "ARRAY") + "]";
            }
            return "[" + a.elementType() + "]";
        }
        return v.type().name();
    }
}
