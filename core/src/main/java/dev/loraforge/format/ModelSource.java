package dev.loraforge.format;

import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.format.safetensors.SafetensorsException;
import dev.loraforge.format.safetensors.SafetensorsFile;
import dev.loraforge.format.safetensors.ShardIndex;
import dev.loraforge.format.torch.TorchCheckpoint;
import dev.loraforge.format.torch.TorchFile;
import dev.loraforge.quant.bnb.BnbConfig;
import dev.loraforge.quant.bnb.BnbFormatException;
import dev.loraforge.quant.bnb.BnbQuantState;
import dev.loraforge.quant.bnb.BnbTensorSource;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * "A model folder", the one way every command opens a base model: safetensors (single or sharded), else
 * PyTorch {@code .bin} (single or sharded) through the restricted unpickler, and, when config.json carries a
 * bitsandbytes {@code quantization_config}, the weights presented dequantized (4-bit in the dtype its quant
 * state records, int8 as float32) with the quant-state tensors hidden.
 */
public final class ModelSource implements TensorSource {
    /** How the tensors are stored. */
    public enum Storage { SAFETENSORS, PYTORCH_BIN }

    public static final String BIN_FILE = "pytorch_model.bin";

    private final Path root;
    private final Storage storage;
    private final TensorSource raw;
    private final BnbTensorSource bnb; // null when not quantized
    private final BnbConfig bnbConfig;
    /** Dequantized weights, kept while memory allows: checks and planning ask for the same weight several times. */
    private final Map<String, java.lang.ref.SoftReference<TensorView>> dequantized = new java.util.HashMap<>();
    private final Path scratchDir; // null: dequantized weights live on the heap
    private Scratch scratch;

    /** A deleted-on-close file the dequantized weights are mapped from: page cache instead of heap. */
    private record Scratch(Path file, java.nio.channels.FileChannel channel, java.lang.foreign.Arena arena,
                           long[] used, Map<String, TensorView> views) {
    }

    private ModelSource(Path root, Storage storage, TensorSource raw, BnbTensorSource bnb, BnbConfig bnbConfig,
                        Path scratchDir) {
        this.root = root;
        this.storage = storage;
        this.raw = raw;
        this.bnb = bnb;
        this.bnbConfig = bnbConfig;
        this.scratchDir = scratchDir;
    }

    /**
     * Opens a model folder ({@code model.safetensors}, {@code model.safetensors.index.json},
     * {@code pytorch_model.bin.index.json}, {@code pytorch_model.bin}, in that order, as transformers looks),
     * an index file, or one weights file. The folder's config.json decides whether bitsandbytes applies.
     */
    public static ModelSource open(Path path) throws IOException {
        return open(path, null);
    }

    /**
     * As {@link #open(Path)}, but dequantized weights are written to a temporary file in {@code scratchDir}
     * (deleted on close) and mapped from there, so a merge plan holding every base weight of a large quantized
     * model costs disk and page cache, not heap. Null keeps them on the heap.
     */
    public static ModelSource open(Path path, Path scratchDir) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString());
        }
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        Storage storage = storageOf(path);
        TensorSource raw = storage == Storage.SAFETENSORS ? ModelFiles.open(path) : TorchCheckpoint.open(path);
        try {
            Path cfgFile = dir.resolve("config.json");
            Optional<BnbConfig> cfg = Files.isRegularFile(cfgFile) ? BnbConfig.read(cfgFile) : Optional.empty();
            if (cfg.isEmpty()) {
                refuseUndeclaredQuantization(dir, raw);
                return new ModelSource(dir, storage, raw, null, null, null);
            }
            try {
                BnbTensorSource b = BnbTensorSource.wrap(raw, cfg.get(), "config.json");
                return new ModelSource(dir, storage, raw, b, cfg.get(), scratchDir);
            } catch (BnbFormatException e) {
                throw new BnbFormatException(e.kind(), dir + ": " + e.getMessage());
            }
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    private static Storage storageOf(Path path) {
        if (!Files.isDirectory(path)) {
            String f = path.getFileName().toString();
            return f.endsWith(".bin") || f.endsWith(".bin.index.json") ? Storage.PYTORCH_BIN : Storage.SAFETENSORS;
        }
        if (Files.isRegularFile(path.resolve(ModelFiles.SINGLE_FILE)) || Files.isRegularFile(path.resolve(ShardIndex.FILE_NAME))) {
            return Storage.SAFETENSORS;
        }
        if (Files.isRegularFile(path.resolve(TorchCheckpoint.INDEX)) || Files.isRegularFile(path.resolve(BIN_FILE))) {
            return Storage.PYTORCH_BIN;
        }
        throw new SafetensorsException(SafetensorsException.Kind.NO_MODEL_FILES, path + ": none of "
                + ModelFiles.SINGLE_FILE + ", " + ShardIndex.FILE_NAME + ", " + TorchCheckpoint.INDEX + ", " + BIN_FILE
                + " found");
    }

    /** Packed 4-bit bytes read as weights would be garbage: a quant state without a config is an error. */
    private static void refuseUndeclaredQuantization(Path dir, TensorSource raw) {
        for (String n : raw.names()) {
            if (n.contains("." + BnbQuantState.KEY_PREFIX) || (n.endsWith(".SCB") && raw.find(
                    n.substring(0, n.length() - 4) + ".weight").filter(w -> w.dtype() == DType.I8).isPresent())) {
                throw new BnbFormatException(BnbFormatException.Kind.BAD_QUANT_STATE, dir + ": tensor '" + n
                        + "' is bitsandbytes quantization data, but config.json has no bitsandbytes quantization_config");
            }
        }
    }

    /** The folder holding the weights (and config.json). */
    public Path root() {
        return root;
    }

    public Storage storage() {
        return storage;
    }

    /** The tensors as stored (packed 4-bit weights and quant-state tensors included). */
    public TensorSource raw() {
        return raw;
    }

    /** The bitsandbytes view when the model is quantized. */
    public Optional<BnbTensorSource> bnb() {
        return Optional.ofNullable(bnb);
    }

    /** config.json's bitsandbytes quantization_config, when there is one. */
    public Optional<BnbConfig> bnbConfig() {
        return Optional.ofNullable(bnbConfig);
    }

    /** True when config.json declares bitsandbytes 4-bit or int8 quantization. */
    public boolean quantized() {
        return bnb != null;
    }

    /** The weight files' names, in file-name order. */
    public List<String> fileNames() {
        List<String> out = new ArrayList<>();
        switch (raw) {
            case ModelFiles mf -> mf.files().forEach(f -> out.add(f.path().getFileName().toString()));
            case TorchCheckpoint tc -> tc.files().forEach(f -> out.add(f.toString()));
            default -> out.add(raw.toString());
        }
        return out;
    }

    /**
     * The tensor names (as presented) grouped by weights file in file-name order, each file's tensors in the
     * order stored: the order llama.cpp's converter reads a {@code .bin} checkpoint in.
     */
    public Map<String, List<String>> namesByFile() {
        Map<String, List<String>> out = new LinkedHashMap<>();
        List<String> presented = names();
        java.util.Set<String> shown = new java.util.HashSet<>(presented);
        switch (raw) {
            case ModelFiles mf -> {
                for (SafetensorsFile f : mf.files()) {
                    out.put(f.path().getFileName().toString(), f.names().stream().filter(shown::contains).toList());
                }
            }
            case TorchCheckpoint tc -> {
                for (TorchFile f : tc.files()) {
                    out.put(f.toString(), f.names().stream().filter(shown::contains).toList());
                }
            }
            default -> out.put(raw.toString(), raw.names().stream().filter(shown::contains).toList());
        }
        return out;
    }

    @Override
    public List<String> names() {
        return bnb != null ? bnb.names() : raw.names();
    }

    @Override
    public Optional<TensorView> find(String name) {
        if (bnb == null) {
            return raw.find(name);
        }
        if (!bnb.isQuantized(name)) {
            return bnb.find(name);
        }
        if (scratchDir != null) {
            return Optional.of(spilled(name));
        }
        synchronized (dequantized) {
            java.lang.ref.SoftReference<TensorView> ref = dequantized.get(name);
            TensorView v = ref == null ? null : ref.get();
            if (v == null) {
                v = bnb.get(name);
                dequantized.put(name, new java.lang.ref.SoftReference<>(v));
            }
            return Optional.of(v);
        }
    }

    private synchronized TensorView spilled(String name) {
        try {
            if (scratch == null) {
                Path f = Files.createTempFile(scratchDir, ".loraforge-dequant-", ".tmp");
                var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.READ,
                        java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.DELETE_ON_CLOSE);
                scratch = new Scratch(f, ch, java.lang.foreign.Arena.ofShared(), new long[1], new java.util.HashMap<>());
            }
            TensorView v = scratch.views().get(name);
            if (v == null) {
                TensorView heap = bnb.get(name);
                long at = scratch.used()[0];
                java.lang.foreign.MemorySegment seg = scratch.channel().map(
                        java.nio.channels.FileChannel.MapMode.READ_WRITE, at, heap.byteSize(), scratch.arena());
                seg.copyFrom(heap.data());
                scratch.used()[0] = Math.addExact(at, (heap.byteSize() + 4095) & ~4095L); // page-aligned slices
                v = new TensorView(name, heap.dtype(), heap.shape(), seg);
                scratch.views().put(name, v);
            }
            return v;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(scratchDir + ": cannot write dequantized " + name + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            if (scratch != null) {
                scratch.arena().close();
                scratch.channel().close();
                Files.deleteIfExists(scratch.file());
            }
        } catch (IOException e) {
            // the file is deleted on close; a failure here leaves nothing the caller can act on
        } finally {
            raw.close();
        }
    }

    @Override
    public String toString() {
        return root + (bnb != null ? " (bitsandbytes)" : "");
    }
}
