package dev.loraforge.format.safetensors;

import dev.loraforge.format.safetensors.SafetensorsException.Kind;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The weights of a Hugging Face model: a single {@code model.safetensors}, or an index plus shards.
 * Opening checks that index and shards agree exactly (every mapped tensor is in its shard, no tensor
 * twice, no shard tensor missing from the map, {@code total_size} equal to the sum of tensor sizes).
 */
public final class ModelFiles implements TensorSource {
    public static final String SINGLE_FILE = "model.safetensors";

    private final Path root;
    private final ShardIndex index; // null for a single file
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> owner;
    private final List<String> names;

    private ModelFiles(Path root, ShardIndex index, List<SafetensorsFile> shards, Map<String, SafetensorsFile> owner,
                       List<String> names) {
        this.root = root;
        this.index = index;
        this.shards = List.copyOf(shards);
        this.owner = owner;
        this.names = List.copyOf(names);
    }

    /**
     * Opens a model folder (with {@code model.safetensors}, else {@code model.safetensors.index.json}, the
     * order transformers looks in), an index file, or a single safetensors file.
     */
    public static ModelFiles open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path single = path.resolve(SINGLE_FILE);
            if (Files.isRegularFile(single)) {
                return single(path, single);
            }
            Path idx = path.resolve(ShardIndex.FILE_NAME);
            if (Files.isRegularFile(idx)) {
                return sharded(path, idx);
            }
            throw new SafetensorsException(Kind.NO_MODEL_FILES, path + ": neither " + SINGLE_FILE + " nor "
                    + ShardIndex.FILE_NAME + " found");
        }
        if (!Files.exists(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString());
        }
        if (path.getFileName().toString().endsWith(".index.json")) {
            return sharded(path.toAbsolutePath().getParent(), path);
        }
        return single(path.toAbsolutePath().getParent(), path);
    }

    private static ModelFiles single(Path root, Path file) throws IOException {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> owner = new HashMap<>();
        for (String n : f.names()) {
            owner.put(n, f);
        }
        return new ModelFiles(root, null, List.of(f), owner, f.names());
    }

    private static ModelFiles sharded(Path root, Path indexFile) throws IOException {
        ShardIndex index = ShardIndex.read(indexFile);
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byFile = new LinkedHashMap<>();
            Path absRoot = root.toAbsolutePath().normalize();
            for (String shard : index.shardFiles()) {
                Path p = absRoot.resolve(shard).normalize();
                if (!p.startsWith(absRoot) || p.equals(absRoot) || Path.of(shard).isAbsolute()) {
                    throw new SafetensorsException(Kind.INDEX_INVALID, indexFile + ": shard name \"" + shard
                            + "\" points outside the model folder");
                }
                if (!Files.isRegularFile(p)) {
                    throw new SafetensorsException(Kind.SHARD_MISSING, indexFile + ": shard " + shard
                            + " (holding " + index.tensorsByShard().get(shard).size() + " tensors) does not exist");
                }
                SafetensorsFile f = SafetensorsFile.open(p);
                opened.add(f);
                byFile.put(shard, f);
            }
            Map<String, SafetensorsFile> owner = new HashMap<>();
            long total = 0;
            for (Map.Entry<String, SafetensorsFile> e : byFile.entrySet()) {
                SafetensorsFile f = e.getValue();
                for (SafetensorsHeader.Entry t : f.header().entries()) {
                    SafetensorsFile prev = owner.putIfAbsent(t.name(), f);
                    if (prev != null) {
                        throw new SafetensorsException(Kind.TENSOR_IN_TWO_SHARDS, indexFile + ": tensor '"
                                + t.name() + "' is in both " + prev.path().getFileName() + " and " + e.getKey());
                    }
                    if (!index.weightMap().containsKey(t.name())) {
                        throw new SafetensorsException(Kind.TENSOR_NOT_IN_INDEX, indexFile + ": tensor '"
                                + t.name() + "' of shard " + e.getKey() + " is not in weight_map");
                    }
                    total = Math.addExact(total, t.byteSize());
                }
            }
            for (Map.Entry<String, String> e : index.weightMap().entrySet()) {
                SafetensorsFile f = byFile.get(e.getValue());
                if (f.header().entry(e.getKey()).isEmpty()) {
                    throw new SafetensorsException(Kind.SHARD_LACKS_TENSOR, indexFile + ": weight_map puts tensor '"
                            + e.getKey() + "' in " + e.getValue() + ", which does not hold it");
                }
            }
            if (index.totalSize().isPresent() && index.totalSize().getAsLong() != total) {
                throw new SafetensorsException(Kind.TOTAL_SIZE_MISMATCH, indexFile + ": metadata.total_size is "
                        + index.totalSize().getAsLong() + " but the shards' tensors hold " + total + " bytes");
            }
            List<String> names = new ArrayList<>(index.weightMap().keySet());
            names.sort(null);
            return new ModelFiles(root, index, opened, owner, names);
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : opened) {
                f.close();
            }
            throw e;
        }
    }

    /** The folder holding the files. */
    public Path root() {
        return root;
    }

    /** The index of a sharded model; empty for a single file. */
    public Optional<ShardIndex> index() {
        return Optional.ofNullable(index);
    }

    /** The open files: one, or the shards in file-name order (none for an index with an empty weight_map). */
    public List<SafetensorsFile> files() {
        return shards;
    }

    /** {@code __metadata__} of the first file (transformers writes the same into every shard). */
    public Map<String, String> metadata() {
        return shards.isEmpty() ? Map.of() : shards.getFirst().metadata();
    }

    /** File order for a single file, sorted by name for a sharded model. */
    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public Optional<TensorView> find(String name) {
        SafetensorsFile f = owner.get(name);
        return f == null ? Optional.empty() : f.find(name);
    }

    /** The file that holds {@code name}, if any. */
    public Optional<SafetensorsFile> fileOf(String name) {
        return Optional.ofNullable(owner.get(name));
    }

    @Override
    public void close() {
        for (SafetensorsFile f : shards) {
            f.close();
        }
    }

    @Override
    public String toString() {
        return "ModelFiles[" + root + (index == null ? "" : ", " + shards.size() + " shards") + "]";
    }
}
