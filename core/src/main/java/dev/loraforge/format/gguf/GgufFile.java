package dev.loraforge.format.gguf;

import static dev.loraforge.format.gguf.GgufException.Kind.MISSING_KEY;
import static dev.loraforge.format.gguf.GgufException.Kind.MISSING_TENSOR;
import static dev.loraforge.format.gguf.GgufException.Kind.WRONG_VALUE_TYPE;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An open GGUF file (versions 2 and 3, little-endian): the whole file is memory-mapped read-only, the header
 * is parsed and validated by {@link GgufHeaderParser} before any tensor data is touched, and tensors are
 * zero-copy slices of the mapping. Files over 2 GiB are fine. The mapping lives until {@link #close()};
 * segments handed out before are invalid afterwards. Safe to read from several threads.
 */
public final class GgufFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment segment;
    private final GgufHeader header;
    private final Map<String, GgufValue> kvByKey;
    private final List<GgufTensor> tensors;
    private final Map<String, GgufTensor> tensorByName;

    private GgufFile(Path path, Arena arena, MemorySegment segment, GgufHeader header) {
        this.path = path;
        this.arena = arena;
        this.segment = segment;
        this.header = header;
        this.kvByKey = Collections.unmodifiableMap(header.kvMap());
        List<GgufTensor> list = new ArrayList<>(header.tensors().size());
        Map<String, GgufTensor> byName = new LinkedHashMap<>();
        for (GgufTensorInfo t : header.tensors()) {
            MemorySegment data = segment.asSlice(header.dataOffset() + t.offset(), t.byteSize());
            GgufTensor g = new GgufTensor(t.name(), t.type(), t.dims(), t.offset(), t.byteSize(), data);
            list.add(g);
            byName.put(g.name(), g);
        }
        this.tensors = List.copyOf(list);
        this.tensorByName = Collections.unmodifiableMap(byName);
    }

    /**
     * Maps and validates {@code path}.
     * @throws GgufException when the file breaks a rule of the format
     * @throws IOException when the file cannot be read
     */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            GgufHeader header = GgufHeaderParser.parse(seg, path.toString());
            return new GgufFile(path, arena, seg, header);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public GgufHeader header() {
        return header;
    }

    public int version() {
        return header.version();
    }

    public int alignment() {
        return header.alignment();
    }

    /** Where the data section starts, from the start of the file. */
    public long dataOffset() {
        return header.dataOffset();
    }

    public long fileSize() {
        return segment.byteSize();
    }

    /** The whole mapped file. */
    public MemorySegment segment() {
        return segment;
    }

    /** KV pairs in file order. */
    public List<GgufKv> kvs() {
        return header.kvs();
    }

    public Optional<GgufValue> find(String key) {
        return Optional.ofNullable(kvByKey.get(key));
    }

    /** @throws GgufException MISSING_KEY when absent */
    public GgufValue require(String key) {
        GgufValue v = kvByKey.get(key);
        if (v == null) {
            throw new GgufException(MISSING_KEY, "GGUF file " + path + " has no key '" + key + "'");
        }
        return v;
    }

    /** @throws GgufException MISSING_KEY or WRONG_VALUE_TYPE */
    public String requireString(String key) {
        GgufValue v = require(key);
        if (v instanceof GgufValue.Str s) {
            return s.value();
        }
        throw wrongType(key, v, "STRING");
    }

    /** Any integer type, as a long (UINT64 above 2^63 is refused). */
    public long requireLong(String key) {
        GgufValue v = require(key);
        if (v instanceof GgufValue.Scalar s && s.type().isInteger()) {
            long x = s.asLong();
            if (s.type() == GgufValueType.UINT64 && x < 0) {
                throw wrongType(key, v, "an integer below 2^63");
            }
            return x;
        }
        throw wrongType(key, v, "an integer");
    }

    /** FLOAT32 or FLOAT64 (or an integer), as a double. */
    public double requireDouble(String key) {
        GgufValue v = require(key);
        if (v instanceof GgufValue.Scalar s && s.type() != GgufValueType.BOOL) {
            return s.asDouble();
        }
        throw wrongType(key, v, "a number");
    }

    public boolean requireBool(String key) {
        GgufValue v = require(key);
        if (v instanceof GgufValue.Scalar s && s.type() == GgufValueType.BOOL) {
            return s.asBool();
        }
        throw wrongType(key, v, "BOOL");
    }

    public GgufValue.Array requireArray(String key) {
        GgufValue v = require(key);
        if (v instanceof GgufValue.Array a) {
            return a;
        }
        throw wrongType(key, v, "ARRAY");
    }

    /** Tensors in file order. */
    public List<GgufTensor> tensors() {
        return tensors;
    }

    public Optional<GgufTensor> findTensor(String name) {
        return Optional.ofNullable(tensorByName.get(name));
    }

    /** @throws GgufException MISSING_TENSOR when absent */
    public GgufTensor tensor(String name) {
        GgufTensor t = tensorByName.get(name);
        if (t == null) {
            throw new GgufException(MISSING_TENSOR, "GGUF file " + path + " has no tensor '" + name + "'");
        }
        return t;
    }

    private GgufException wrongType(String key, GgufValue v, String wanted) {
        String got = v instanceof GgufValue.Array a ? "ARRAY of " + a.elementType() : v.type().toString();
        return new GgufException(WRONG_VALUE_TYPE, "GGUF file " + path + ": key '" + key + "' is " + got
                + ", expected " + wanted);
    }

    /** Unmaps the file; tensor segments handed out become invalid. */
    @Override
    public void close() {
        arena.close();
    }
}
