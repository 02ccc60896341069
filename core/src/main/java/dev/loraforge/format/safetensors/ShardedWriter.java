package dev.loraforge.format.safetensors;

import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a model folder as transformers' {@code save_pretrained} lays it out: a single
 * {@code model.safetensors}, or shards plus {@code model.safetensors.index.json} (see {@link ShardPlan}).
 * Each shard is a {@link SafetensorsWriter} in library order with the same metadata. All shards are
 * written to temporary files; {@link #commit()} renames the shards, then writes the index last, so a
 * folder with an index always has complete shards.
 */
public final class ShardedWriter implements AutoCloseable {
    private final Path dir;
    private final ShardPlan plan;
    private final List<SafetensorsWriter> writers;
    private final Map<String, SafetensorsWriter> byTensor;
    private final boolean overwrite;

    private ShardedWriter(Path dir, ShardPlan plan, List<SafetensorsWriter> writers, boolean overwrite) {
        this.dir = dir;
        this.plan = plan;
        this.writers = List.copyOf(writers);
        this.overwrite = overwrite;
        this.byTensor = new HashMap<>();
        for (int i = 0; i < writers.size(); i++) {
            for (TensorSpec t : plan.shards().get(i).tensors()) {
                byTensor.put(t.name(), writers.get(i));
            }
        }
    }

    /**
     * Plans the shards and opens one writer per shard.
     * @param tensors in the order that decides the split (transformers uses the state dict order)
     */
    public static ShardedWriter create(Path dir, Map<String, String> metadata, List<TensorSpec> tensors,
                                       long maxShardBytes, boolean overwrite) throws IOException {
        SafetensorsWriter.order(tensors, SafetensorsWriter.Order.AS_GIVEN); // rejects duplicate names early
        ShardPlan plan = ShardPlan.of(tensors, maxShardBytes);
        Files.createDirectories(dir);
        if (!overwrite && !plan.isSingleFile() && Files.exists(dir.resolve(ShardIndex.FILE_NAME))) {
            throw new java.nio.file.FileAlreadyExistsException(dir.resolve(ShardIndex.FILE_NAME).toString());
        }
        List<SafetensorsWriter> writers = new ArrayList<>();
        try {
            for (ShardPlan.Shard s : plan.shards()) {
                writers.add(SafetensorsWriter.create(dir.resolve(s.fileName()), metadata, s.tensors(), overwrite));
            }
        } catch (IOException | RuntimeException e) {
            writers.forEach(SafetensorsWriter::close);
            throw e;
        }
        return new ShardedWriter(dir, plan, writers, overwrite);
    }

    /** Copies {@code names} of {@code source} into a model folder. */
    public static ShardPlan write(Path dir, Map<String, String> metadata, TensorSource source, List<String> names,
                                  long maxShardBytes, boolean overwrite) throws IOException {
        List<TensorSpec> specs = new ArrayList<>(names.size());
        for (String n : names) {
            TensorView v = source.get(n);
            specs.add(new TensorSpec(n, v.dtype(), v.shape()));
        }
        try (ShardedWriter w = create(dir, metadata, specs, maxShardBytes, overwrite)) {
            for (String n : names) {
                w.write(n, source.get(n).data());
            }
            w.commit();
            return w.plan();
        }
    }

    public ShardPlan plan() {
        return plan;
    }

    /** See {@link SafetensorsWriter#segmentFor}. */
    public MemorySegment segmentFor(String name) throws IOException {
        return writerOf(name).segmentFor(name);
    }

    /** See {@link SafetensorsWriter#write}. */
    public void write(String name, MemorySegment src) throws IOException {
        writerOf(name).write(name, src);
    }

    private SafetensorsWriter writerOf(String name) {
        SafetensorsWriter w = byTensor.get(name);
        if (w == null) {
            throw new IllegalArgumentException("tensor '" + name + "' was not declared for " + dir);
        }
        return w;
    }

    /** Commits every shard, then writes the index (when there is more than one shard). */
    public void commit() throws IOException {
        List<String> missing = new ArrayList<>();
        for (SafetensorsWriter w : writers) {
            missing.addAll(w.unwritten());
        }
        if (!missing.isEmpty()) { // check all shards before any is renamed into place
            throw new IllegalStateException(dir + ": " + missing.size() + " tensors never written, e.g. "
                    + missing.subList(0, Math.min(5, missing.size())));
        }
        for (SafetensorsWriter w : writers) {
            w.commit();
        }
        if (!plan.isSingleFile()) {
            plan.index().write(dir.resolve(ShardIndex.FILE_NAME), overwrite);
        }
    }

    /** Discards shards not yet committed. */
    @Override
    public void close() {
        writers.forEach(SafetensorsWriter::close);
    }
}
