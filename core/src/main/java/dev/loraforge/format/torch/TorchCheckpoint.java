package dev.loraforge.format.torch;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.format.torch.TorchFormatException.Kind;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A PyTorch checkpoint as Hugging Face saves it: a folder with {@code pytorch_model.bin} or
 * {@code adapter_model.bin}, or shards listed in {@code pytorch_model.bin.index.json}. Every shard is
 * opened and checked against the index up front: each indexed tensor is in its shard, and each shard
 * holds only tensors the index assigns to it.
 */
public final class TorchCheckpoint implements TensorSource {
    public static final String INDEX = "pytorch_model.bin.index.json";
    public static final List<String> SINGLE_FILES = List.of("pytorch_model.bin", "adapter_model.bin");
    /** The index JSON of a real model is a few hundred kB. */
    public static final long MAX_INDEX_BYTES = 64L << 20;

    /** Rejects duplicate keys (a second value for a tensor or a setting is an error, never "last one wins"). */
    private static final JSON STRICT_JSON = JSON.builder(com.fasterxml.jackson.core.JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build()).build();

    private final String name;
    private final Map<String, TorchFile> byTensor;
    private final List<TorchFile> files;
    private final List<String> names;

    private TorchCheckpoint(String name, Map<String, TorchFile> byTensor, List<TorchFile> files, List<String> names) {
        this.name = name;
        this.byTensor = byTensor;
        this.files = files;
        this.names = names;
    }

    /**
     * Opens a folder (index first, then a single file), an index file, or a single {@code .bin}.
     * A single file keeps its own tensor order; a sharded checkpoint lists names sorted.
     */
    public static TensorSource open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(INDEX))) {
                return openIndex(path.resolve(INDEX));
            }
            for (String f : SINGLE_FILES) {
                if (Files.isRegularFile(path.resolve(f))) {
                    return TorchFile.open(path.resolve(f));
                }
            }
            throw new TorchFormatException(Kind.MISSING_ENTRY, path.getFileName() + ": no " + INDEX + " and none of "
                    + SINGLE_FILES);
        }
        if (path.getFileName().toString().endsWith(".index.json")) {
            return openIndex(path);
        }
        return TorchFile.open(path);
    }

    /** Opens every shard an index names. */
    @SuppressWarnings("unchecked")
    public static TorchCheckpoint openIndex(Path index) throws IOException {
        String indexName = index.getFileName().toString();
        if (Files.size(index) > MAX_INDEX_BYTES) {
            throw new TorchFormatException(Kind.SIZE_LIMIT, indexName + ": " + Files.size(index) + " bytes, limit "
                    + MAX_INDEX_BYTES);
        }
        Object weightMap;
        Object totalSize = null;
        try {
            Object root = STRICT_JSON.anyFrom(Files.readString(index));
            weightMap = root instanceof Map<?, ?> m ? m.get("weight_map") : null;
            if (root instanceof Map<?, ?> m && m.get("metadata") instanceof Map<?, ?> meta) {
                totalSize = meta.get("total_size");
            }
        } catch (IOException | RuntimeException e) {
            throw new TorchFormatException(Kind.BAD_INDEX, indexName + ": not valid JSON: " + e.getMessage(), e);
        }
        if (!(weightMap instanceof Map<?, ?> wm) || wm.isEmpty()) {
            throw new TorchFormatException(Kind.BAD_INDEX, indexName + ": no non-empty \"weight_map\" object");
        }
        Map<String, String> tensorToShard = new TreeMap<>();
        for (Map.Entry<?, ?> e : wm.entrySet()) {
            if (!(e.getValue() instanceof String shard) || !isPlainFileName(shard)) {
                throw new TorchFormatException(Kind.BAD_INDEX, indexName + ": tensor '" + e.getKey()
                        + "' maps to " + e.getValue() + ", not a file name in the same folder");
            }
            tensorToShard.put((String) e.getKey(), shard);
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, TorchFile> shards = new LinkedHashMap<>();
        try {
            for (String shard : new java.util.TreeSet<>(tensorToShard.values())) {
                shards.put(shard, TorchFile.open(dir.resolve(shard)));
            }
            Map<String, TorchFile> byTensor = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : tensorToShard.entrySet()) {
                TorchFile f = shards.get(e.getValue());
                if (f.ref(e.getKey()).isEmpty()) {
                    throw new TorchFormatException(Kind.BAD_INDEX, indexName + ": tensor '" + e.getKey()
                            + "' is not in shard " + e.getValue());
                }
                byTensor.put(e.getKey(), f);
            }
            for (Map.Entry<String, TorchFile> s : shards.entrySet()) {
                for (String t : s.getValue().names()) {
                    if (!s.getKey().equals(tensorToShard.get(t))) {
                        throw new TorchFormatException(Kind.BAD_INDEX, indexName + ": shard " + s.getKey()
                                + " holds tensor '" + t + "', which the index assigns to "
                                + tensorToShard.getOrDefault(t, "no shard"));
                    }
                }
            }
            if (totalSize != null) {
                long sum = 0;
                for (Map.Entry<String, TorchFile> e : byTensor.entrySet()) {
                    TorchFile f = e.getValue();
                    sum += f.ref(e.getKey()).map(r -> r.storage().type().dtype().byteCount(
                            dev.loraforge.tensor.Shape.elementCountOf(r.size()))).orElse(0L);
                }
                if (!(totalSize instanceof Number n) || n.doubleValue() != sum) {
                    throw new TorchFormatException(Kind.BAD_INDEX, indexName + ": metadata.total_size " + totalSize
                            + " but the indexed tensors hold " + sum + " bytes");
                }
            }
            return new TorchCheckpoint(indexName, byTensor, new ArrayList<>(shards.values()),
                    List.copyOf(tensorToShard.keySet()));
        } catch (IOException | RuntimeException e) {
            shards.values().forEach(TorchFile::close);
            throw e;
        }
    }

    private static boolean isPlainFileName(String s) {
        return !s.isEmpty() && !s.contains("/") && !s.contains("\\") && !s.equals(".") && !s.equals("..")
                && s.indexOf('\0') < 0;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public Optional<TensorView> find(String tensor) {
        TorchFile f = byTensor.get(tensor);
        return f == null ? Optional.empty() : f.find(tensor);
    }

    /** The shard holding {@code tensor}, if any. */
    public Optional<TorchFile> fileOf(String tensor) {
        return Optional.ofNullable(byTensor.get(tensor));
    }

    /** The open shards in file-name order. */
    public List<TorchFile> files() {
        return List.copyOf(files);
    }

    @Override
    public void close() {
        files.forEach(TorchFile::close);
    }

    @Override
    public String toString() {
        return name;
    }
}
