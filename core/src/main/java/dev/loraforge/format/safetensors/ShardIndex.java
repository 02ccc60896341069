package dev.loraforge.format.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.format.safetensors.SafetensorsException.Kind;
import dev.loraforge.io.AtomicFile;
import dev.loraforge.io.PythonJson;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * {@code model.safetensors.index.json} of a sharded model: {@code metadata.total_size} (sum of the tensor
 * byte sizes), other metadata kept as read, and {@code weight_map} (tensor name to shard file name).
 * {@link #toJson()} writes it as transformers' {@code save_pretrained} does:
 * {@code json.dumps(index, indent=2, sort_keys=True) + "\n"}.
 */
public record ShardIndex(OptionalLong totalSize, Map<String, Object> otherMetadata, Map<String, String> weightMap) {
    public static final String FILE_NAME = "model.safetensors.index.json";

    private static final JSON JSON_READER = JSON.builder(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build()).build();

    public ShardIndex {
        otherMetadata = Collections.unmodifiableMap(new LinkedHashMap<>(otherMetadata));
        weightMap = Collections.unmodifiableMap(new LinkedHashMap<>(weightMap));
        if (otherMetadata.containsKey("total_size")) {
            throw new IllegalArgumentException("total_size goes in totalSize, not otherMetadata");
        }
    }

    public static ShardIndex of(long totalSize, Map<String, String> weightMap) {
        return new ShardIndex(OptionalLong.of(totalSize), Map.of(), weightMap);
    }

    /** Distinct shard file names, sorted. */
    public List<String> shardFiles() {
        return List.copyOf(new TreeSet<>(weightMap.values()));
    }

    /** Reads and checks the shape of an index file (not the shards it names). */
    public static ShardIndex read(Path file) throws IOException {
        String src = file.toString();
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new SafetensorsException(Kind.INDEX_INVALID, src + ": not valid UTF-8", e);
        }
        Map<String, Object> root;
        try {
            Object any = JSON_READER.anyFrom(text);
            if (!(any instanceof Map<?, ?>)) {
                throw new SafetensorsException(Kind.INDEX_INVALID, src + ": not a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) any;
            root = m;
        } catch (IOException e) {
            throw new SafetensorsException(Kind.INDEX_INVALID, src + ": not valid JSON: " + e.getMessage(), e);
        }
        if (!(root.get("weight_map") instanceof Map<?, ?> wm)) {
            throw new SafetensorsException(Kind.INDEX_INVALID, src + ": no \"weight_map\" object");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : wm.entrySet()) {
            if (!(e.getValue() instanceof String shard)) {
                throw new SafetensorsException(Kind.INDEX_INVALID, src + ": weight_map entry '" + e.getKey()
                        + "' is not a file name: " + e.getValue());
            }
            weightMap.put((String) e.getKey(), shard);
        }
        OptionalLong total = OptionalLong.empty();
        Map<String, Object> other = new LinkedHashMap<>();
        Object meta = root.get("metadata");
        if (meta != null) {
            if (!(meta instanceof Map<?, ?> mm)) {
                throw new SafetensorsException(Kind.INDEX_INVALID, src + ": \"metadata\" is not an object");
            }
            for (Map.Entry<?, ?> e : mm.entrySet()) {
                if ("total_size".equals(e.getKey())) {
                    total = OptionalLong.of(totalSizeOf(src, e.getValue()));
                } else {
                    other.put((String) e.getKey(), e.getValue());
                }
            }
        }
        return new ShardIndex(total, other, weightMap);
    }

    private static long totalSizeOf(String src, Object v) {
        // some writers store it as a float; accept any number with an exact integer value
        try {
            if (v instanceof Number n) {
                BigDecimal d = n instanceof BigInteger bi ? new BigDecimal(bi) : new BigDecimal(n.toString());
                long l = d.longValueExact();
                if (l >= 0) {
                    return l;
                }
            }
        } catch (ArithmeticException | NumberFormatException ignored) {
            // reported below
        }
        throw new SafetensorsException(Kind.INDEX_INVALID, src + ": metadata.total_size " + v
                + " is not a non-negative integer");
    }

    /** The index as transformers writes it (sorted keys, indent 2, ASCII escapes, trailing newline). */
    public String toJson() {
        Map<String, Object> meta = new LinkedHashMap<>(otherMetadata);
        totalSize.ifPresent(t -> meta.put("total_size", t));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("metadata", meta);
        root.put("weight_map", weightMap);
        return PythonJson.write(root, 2, true) + "\n";
    }

    /** Writes {@link #toJson()} atomically. */
    public void write(Path file, boolean overwrite) throws IOException {
        byte[] bytes = toJson().getBytes(StandardCharsets.US_ASCII);
        try (AtomicFile out = AtomicFile.create(file, overwrite)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                out.channel().write(buf);
            }
            out.commit();
        }
    }

    /** Tensor names per shard file, in weight_map order. */
    public Map<String, List<String>> tensorsByShard() {
        Map<String, List<String>> out = new TreeMap<>();
        weightMap.forEach((t, f) -> out.computeIfAbsent(f, k -> new ArrayList<>()).add(t));
        return out;
    }
}
