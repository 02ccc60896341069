package dev.loraforge.format.torch;

import dev.loraforge.format.torch.Pickled.Global;
import dev.loraforge.format.torch.Pickled.StorageRef;
import dev.loraforge.format.torch.Pickled.TensorRef;
import dev.loraforge.format.torch.Pickled.Tuple;
import dev.loraforge.format.torch.TorchFormatException.Kind;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One PyTorch zip checkpoint ({@code pytorch_model.bin}, {@code adapter_model.bin}) as a
 * {@link TensorSource}. The file is mapped; contiguous tensors are zero-copy slices of their storage
 * entry, views with other strides are copied once into a contiguous buffer owned by this reader.
 * Nested dicts are flattened with {@code .}; non-tensor values (e.g. an epoch counter) are skipped.
 */
public final class TorchFile implements TensorSource {
    private final String fileName;
    private final Arena arena;
    private final TorchZip zip; // null for the legacy format
    private final Map<String, MemorySegment> storageBytes;
    private final Map<String, TensorRef> refs;
    private final Map<String, TensorView> views = new HashMap<>();

    private TorchFile(String fileName, Arena arena, TorchZip zip, Map<String, MemorySegment> storageBytes,
            Map<String, TensorRef> refs) {
        this.fileName = fileName;
        this.arena = arena;
        this.zip = zip;
        this.storageBytes = storageBytes;
        this.refs = refs;
    }

    /** Maps and validates a checkpoint: zip directory, pickle, every tensor's bounds. */
    public static TorchFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return read(file, path.getFileName().toString(), arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Reads a checkpoint already in memory; {@code arena} owns {@code file} and is closed by {@link #close()}. */
    public static TorchFile read(MemorySegment file, String fileName, Arena arena) {
        if (!TorchZip.looksLikeZip(file) && TorchLegacyFormat.looksLikeLegacy(file)) {
            TorchLegacyFormat.Read r = TorchLegacyFormat.read(file, fileName);
            return of(fileName, arena, null, r.storageBytes(), r.root(), fileName);
        }
        TorchZip zip = TorchZip.read(file, fileName);
        zip.find("byteorder").ifPresent(e -> {
            String order = new String(zip.data(e).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
            if (!order.equals("little")) {
                throw new TorchFormatException(Kind.UNSUPPORTED, fileName + ": byteorder '" + order
                        + "'; only little-endian checkpoints are read");
            }
        });
        TorchZip.Entry pkl = zip.find("data.pkl").orElseThrow(() -> new TorchFormatException(Kind.MISSING_ENTRY,
                fileName + ": no '" + zip.prefix() + "/data.pkl' entry"));
        zip.checkCrc(pkl);
        String where = fileName + "/data.pkl";
        Map<String, StorageRef> storages = new HashMap<>();
        Object root = Unpickler.load(zip.data(pkl), where, pid -> storage(pid, zip, storages, where));
        Map<String, MemorySegment> bytes = new HashMap<>();
        storages.keySet().forEach(k -> bytes.put(k, zip.data(zip.find("data/" + k).orElseThrow())));
        return of(fileName, arena, zip, bytes, root, where);
    }

    /** Validates the unpickled state dict and every tensor's bounds against its storage. */
    static TorchFile of(String fileName, Arena arena, TorchZip zip, Map<String, MemorySegment> storageBytes,
            Object root, String where) {
        if (!(root instanceof Map<?, ?> top)) {
            throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + " holds "
                    + TorchGlobals.describe(root) + ", not a state dict");
        }
        Map<String, TensorRef> refs = new LinkedHashMap<>();
        flatten(top, "", refs, 0, where);
        for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
            checkBounds(e.getKey(), e.getValue(), where);
        }
        return new TorchFile(fileName, arena, zip, storageBytes, refs);
    }

    private static StorageRef storage(Tuple pid, TorchZip zip, Map<String, StorageRef> storages, String where) {
        if (pid.size() != 5 || !"storage".equals(pid.get(0)) || !(pid.get(1) instanceof Global type)
                || !(pid.get(2) instanceof String key) || !(pid.get(3) instanceof String location)
                || !(pid.get(4) instanceof Long numel)) {
            throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where
                    + ": persistent id is not ('storage', type, key, location, numel): " + pid.items());
        }
        TorchStorageType st = TorchStorageType.byName(type.name()).filter(x -> type.module().equals("torch"))
                .orElseThrow(() -> new TorchFormatException(Kind.UNSUPPORTED, "pickle in " + where
                        + ": storage type " + type + " is not supported"));
        if (key.isEmpty() || key.contains("/") || key.contains("\\") || key.equals("..") || key.equals(".")) {
            throw new TorchFormatException(Kind.BAD_ENTRY_NAME, "pickle in " + where + ": storage key '" + key
                    + "' is not a plain entry name");
        }
        StorageRef known = storages.get(key);
        if (known != null) {
            if (known.type() != st || known.numel() != numel) {
                throw new TorchFormatException(Kind.BAD_TENSOR, "pickle in " + where + ": storage '" + key
                        + "' declared as " + known.type() + "[" + known.numel() + "] and " + st + "[" + numel + "]");
            }
            return known;
        }
        TorchZip.Entry e = zip.find("data/" + key).orElseThrow(() -> new TorchFormatException(Kind.MISSING_ENTRY,
                "pickle in " + where + " names storage '" + key + "' but there is no entry '" + zip.prefix()
                        + "/data/" + key + "'"));
        long bytes;
        try {
            bytes = st.dtype().byteCount(numel);
        } catch (ArithmeticException ex) {
            bytes = -1;
        }
        if (numel < 0 || bytes != e.size()) {
            throw new TorchFormatException(Kind.BAD_TENSOR, "pickle in " + where + ": storage '" + key + "' declares "
                    + numel + " elements of " + st + ", its entry has " + e.size() + " bytes");
        }
        StorageRef ref = new StorageRef(st, key, location, numel);
        storages.put(key, ref);
        return ref;
    }

    private static void flatten(Map<?, ?> dict, String prefix, Map<String, TensorRef> out, int depth, String where) {
        if (depth > Unpickler.MAX_DEPTH) {
            throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + ": dicts nest deeper than "
                    + Unpickler.MAX_DEPTH);
        }
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String k)) {
                continue;
            }
            String name = prefix.isEmpty() ? k : prefix + "." + k;
            if (e.getValue() instanceof TensorRef t) {
                if (out.put(name, t) != null) {
                    throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + ": tensor name '" + name
                            + "' occurs twice after flattening");
                }
            } else if (e.getValue() instanceof Map<?, ?> sub) {
                flatten(sub, name, out, depth + 1, where);
            }
        }
    }

    private static void checkBounds(String name, TensorRef t, String where) {
        long[] size = t.size();
        long[] stride = t.stride();
        long numel = t.storage().numel();
        try {
            long elements = Shape.elementCountOf(size);
            if (elements == 0) {
                if (t.storageOffset() < 0 || t.storageOffset() > numel) {
                    throw new ArithmeticException();
                }
                return;
            }
            long last = t.storageOffset();
            for (int i = 0; i < size.length; i++) {
                last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
            }
            if (t.storageOffset() < 0 || last >= numel) {
                throw new ArithmeticException();
            }
        } catch (ArithmeticException e) {
            throw new TorchFormatException(Kind.BAD_TENSOR, "pickle in " + where + ": tensor '" + name + "' with offset "
                    + t.storageOffset() + ", size " + java.util.Arrays.toString(size) + ", stride "
                    + java.util.Arrays.toString(stride) + " reaches past storage '" + t.storage().key() + "' of "
                    + numel + " elements");
        }
    }

    @Override
    public List<String> names() {
        return List.copyOf(refs.keySet());
    }

    @Override
    public synchronized Optional<TensorView> find(String name) {
        TensorRef ref = refs.get(name);
        if (ref == null) {
            return Optional.empty();
        }
        return Optional.of(views.computeIfAbsent(name, n -> materialize(n, ref)));
    }

    /** The raw storage-level description of a tensor (offset, size, stride), for diagnostics. */
    public Optional<TensorRef> ref(String name) {
        return Optional.ofNullable(refs.get(name));
    }

    private TensorView materialize(String name, TensorRef t) {
        DType dtype = t.storage().type().dtype();
        int es = dtype.byteSize();
        MemorySegment storage = storageBytes.get(t.storage().key());
        long[] size = t.size();
        long[] stride = t.stride();
        Shape shape = new Shape(size);
        long n = shape.elementCount();
        if (n == 0) {
            return new TensorView(name, dtype, shape, storage.asSlice(0, 0));
        }
        if (isContiguous(size, stride)) {
            return new TensorView(name, dtype, shape, storage.asSlice(t.storageOffset() * es, n * es));
        }
        MemorySegment dst = arena.allocate(n * es, 8);
        int rank = size.length;
        boolean rowRun = stride[rank - 1] == 1;
        long run = rowRun ? size[rank - 1] : 1;
        int outer = rowRun ? rank - 1 : rank;
        long[] idx = new long[outer];
        long written = 0;
        while (written < n) {
            long src = t.storageOffset();
            for (int i = 0; i < outer; i++) {
                src += idx[i] * stride[i];
            }
            MemorySegment.copy(storage, src * es, dst, written * es, run * es);
            written += run;
            for (int i = outer - 1; i >= 0; i--) {
                if (++idx[i] < size[i]) {
                    break;
                }
                idx[i] = 0;
            }
        }
        return new TensorView(name, dtype, shape, dst);
    }

    /** Row-major contiguous, ignoring the strides of dimensions of size 1 (as torch does). */
    static boolean isContiguous(long[] size, long[] stride) {
        long expect = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] != 1 && stride[i] != expect) {
                return false;
            }
            expect *= size[i];
        }
        return true;
    }

    /** The zip container (e.g. to verify entry CRCs); empty for a legacy-format file. */
    public Optional<TorchZip> zip() {
        return Optional.ofNullable(zip);
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return fileName;
    }
}
