package dev.loraforge.format.gguf;

import static dev.loraforge.format.gguf.GgufException.Kind.*;

import dev.loraforge.io.AtomicFile;
import dev.loraforge.io.Piece;
import dev.loraforge.io.WriteBehind;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Streaming GGUF v3 writer with the layout of llama.cpp's writers (gguf-py and gguf.cpp): header, KV pairs and
 * tensor infos in the order declared, zero padding to the alignment, then each tensor's data padded to the
 * alignment, offsets back to back. With no tensors the file ends right after the tensor infos, as gguf-py
 * writes vocab-only files.
 *
 * <p>Use: {@link #addKv} and {@link #addTensor} for everything, {@link #writeHeader()} (offsets are fixed
 * then), then fill every tensor once, in any order and from any threads, through {@link #tensorSegment} (a
 * mapped read-write slice of the output), {@link #tensorSink} (pieces written in the background) or {@link #writeTensor}; {@link #finish()} checks that every tensor
 * was given, flushes and renames the file into place. Closing without finishing deletes the partial file.
 * The output depends only on what was declared and written.
 */
public final class GgufWriter implements AutoCloseable {
    private static final int CHUNK = 1 << 26;

    private enum State { DECLARING, DATA, DONE }

    private final AtomicFile out;
    private final Arena arena = Arena.ofShared();
    private final List<GgufKv> kvs = new ArrayList<>();
    private final Set<String> keys = new HashSet<>();
    private final Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
    private final Set<String> filled = new HashSet<>();
    private final List<MemorySegment> mapped = new ArrayList<>();
    private int alignment = GgufFormat.DEFAULT_ALIGNMENT;
    private long dataOffset;
    private State state = State.DECLARING;
    private WriteBehind behind; // created by the first tensor sink

    private GgufWriter(AtomicFile out) {
        this.out = out;
    }

    /**
     * Starts a GGUF file at {@code target} (written under a temporary name until {@link #finish()}).
     * @throws java.nio.file.FileAlreadyExistsException when the target exists and {@code overwrite} is false
     */
    public static GgufWriter create(Path target, boolean overwrite) throws IOException {
        return new GgufWriter(AtomicFile.create(target, overwrite));
    }

    /** Adds a KV pair; {@code general.alignment} (UINT32, a power of two) sets the alignment. */
    public GgufWriter addKv(String key, GgufValue value) {
        requireState(State.DECLARING, "addKv");
        GgufKv kv = new GgufKv(key, value);
        if (!keys.add(key)) {
            throw fail(DUPLICATE_KEY, "key '" + key + "' added twice");
        }
        if (key.equals(GgufFormat.KEY_ALIGNMENT)) {
            if (value.type() != GgufValueType.UINT32) {
                keys.remove(key);
                throw fail(ALIGNMENT_TYPE, "'" + key + "' must be UINT32, not " + value.type());
            }
            long a = value.asLong();
            if (a == 0 || Long.bitCount(a) != 1 || a > Integer.MAX_VALUE) {
                keys.remove(key);
                throw fail(BAD_ALIGNMENT, "alignment " + a + " is not a power of two");
            }
            alignment = (int) a;
        }
        kvs.add(kv);
        return this;
    }

    public GgufWriter addKvs(List<GgufKv> pairs) {
        for (GgufKv kv : pairs) {
            addKv(kv.key(), kv.value());
        }
        return this;
    }

    /**
     * Declares a tensor; {@code dims} in ggml order ({@code dims[0]} = row length, the reverse of a numpy shape).
     * @return its byte size
     */
    public long addTensor(String name, GgmlType type, long... dims) {
        requireState(State.DECLARING, "addTensor");
        int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes >= GgufFormat.MAX_NAME) {
            throw fail(NAME_TOO_LONG, "tensor name '" + name + "' has " + nameBytes + " bytes; at most "
                    + (GgufFormat.MAX_NAME - 1) + " are allowed");
        }
        if (name.indexOf('\0') >= 0) {
            throw fail(NAME_HAS_NUL, "tensor name '" + name.replace("\0", "\\0") + "' has a NUL byte");
        }
        if (tensors.containsKey(name)) {
            throw fail(DUPLICATE_TENSOR, "tensor '" + name + "' added twice");
        }
        if (dims.length > GgufFormat.MAX_DIMS) {
            throw fail(TOO_MANY_DIMS, "tensor '" + name + "' has " + dims.length + " dims; at most "
                    + GgufFormat.MAX_DIMS + " are allowed");
        }
        long elements = 1;
        boolean zero = false;
        for (long d : dims) {
            if (d < 0) {
                throw fail(NEGATIVE_DIM, "tensor '" + name + "' has dims " + Arrays.toString(dims));
            }
            if (d == 0) {
                zero = true;
            } else {
                try {
                    elements = Math.multiplyExact(elements, d);
                } catch (ArithmeticException e) {
                    throw fail(ELEMENT_COUNT_OVERFLOW, "tensor '" + name + "' has dims " + Arrays.toString(dims)
                            + " whose product exceeds 2^63-1");
                }
            }
        }
        long ne0 = dims.length == 0 ? 1 : dims[0];
        if (ne0 % type.blockSize() != 0) {
            throw fail(ROW_NOT_BLOCK_MULTIPLE, "tensor '" + name + "' of type " + type + " has rows of " + ne0
                    + " elements, not a multiple of the block size " + type.blockSize());
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(zero ? 0 : elements / type.blockSize(), (long) type.typeSize());
        } catch (ArithmeticException e) {
            throw fail(BYTE_SIZE_OVERFLOW, "tensor '" + name + "' of type " + type + " with dims "
                    + Arrays.toString(dims) + " has more than 2^63-1 bytes");
        }
        tensors.put(name, new GgufTensorInfo(name, type, dims, -1, bytes));
        return bytes;
    }

    /**
     * Fixes the offsets and writes everything before the tensor data.
     * @return the tensor infos with their offsets, in declared order
     */
    public List<GgufTensorInfo> writeHeader() throws IOException {
        requireState(State.DECLARING, "writeHeader");
        long offset = 0;
        List<GgufTensorInfo> placed = new ArrayList<>(tensors.size());
        for (GgufTensorInfo t : tensors.values()) {
            GgufTensorInfo p = new GgufTensorInfo(t.name(), t.type(), t.dims(), offset, t.byteSize());
            placed.add(p);
            offset = GgufFormat.pad(Math.addExact(offset, t.byteSize()), alignment);
        }
        GgufEncoder enc = new GgufEncoder();
        enc.u32(GgufFormat.MAGIC);
        enc.u32(GgufFormat.VERSION);
        enc.u64(placed.size());
        enc.u64(kvs.size());
        for (GgufKv kv : kvs) {
            enc.kv(kv);
        }
        for (GgufTensorInfo t : placed) {
            tensors.put(t.name(), t);
            enc.tensorInfo(t);
        }
        dataOffset = GgufFormat.pad(enc.size(), alignment);
        long total = enc.size();
        if (!placed.isEmpty()) {
            enc.zeros((int) (dataOffset - enc.size()));
            total = Math.addExact(dataOffset, offset);
        }
        FileChannel ch = out.channel();
        writeFully(ch, ByteBuffer.wrap(enc.toByteArray()), 0);
        if (total > dataOffset) {
            // size the file now so tensor slices can be mapped; padding stays zero
            writeFully(ch, ByteBuffer.wrap(new byte[1]), total - 1);
        }
        state = State.DATA;
        return List.copyOf(placed);
    }

    /**
     * Start of the data section in the file (the header end padded to the alignment, even when there are no
     * tensors and the file itself is not padded); known after {@link #writeHeader()}.
     */
    public long dataOffset() {
        requireState(State.DATA, "dataOffset");
        return dataOffset;
    }

    /**
     * A read-write mapping of tensor {@code name}'s bytes in the output, to be filled by the caller (several
     * tensors may be filled in parallel). Valid until {@link #finish()} or {@link #close()}.
     */
    public MemorySegment tensorSegment(String name) throws IOException {
        GgufTensorInfo t = claim(name);
        if (t.byteSize() == 0) {
            return MemorySegment.ofArray(new byte[0]);
        }
        MemorySegment seg = out.channel().map(FileChannel.MapMode.READ_WRITE, dataOffset + t.offset(), t.byteSize(), arena);
        synchronized (mapped) {
            mapped.add(seg);
        }
        return seg;
    }

    /** Where a claimed tensor's bytes go, in pieces at offsets within the tensor (any order, any threads). */
    @FunctionalInterface
    public interface TensorSink {
        /** A buffer for {@code bytes} bytes at byte {@code at} of the tensor: fill it, then write it. */
        Piece piece(long at, long bytes) throws IOException;
    }

    /**
     * Claims tensor {@code name} for writing in pieces through background writers ({@link WriteBehind}: whole
     * blocks by direct I/O, bounded buffers, no mapped output pages, so the process's resident memory stays
     * bounded by the buffers). Pieces must cover the tensor; {@link #finish()} waits for them.
     */
    public TensorSink tensorSink(String name) {
        GgufTensorInfo t = claim(name);
        long base = dataOffset + t.offset();
        WriteBehind wb = writeBehind();
        return (at, bytes) -> {
            if (at < 0 || bytes < 0 || bytes > t.byteSize() - at) {
                throw new IndexOutOfBoundsException("tensor '" + name + "' has " + t.byteSize() + " bytes; "
                        + bytes + " asked at " + at);
            }
            return wb.take(base + at, bytes);
        };
    }

    private synchronized WriteBehind writeBehind() {
        if (behind == null) {
            behind = WriteBehind.open(out.tempPath(), out.channel());
        }
        return behind;
    }

    /** Copies tensor {@code name}'s bytes from {@code src}, which must hold exactly its byte size. */
    public void writeTensor(String name, MemorySegment src) throws IOException {
        GgufTensorInfo t = lookup(name);
        if (src.byteSize() != t.byteSize()) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + t.byteSize() + " bytes; "
                    + src.byteSize() + " given");
        }
        claim(name);
        FileChannel ch = out.channel();
        // heap segments over float[], short[]... have no byte-buffer view: stage those through a byte[]
        boolean direct = src.isNative() || src.heapBase().map(b -> b instanceof byte[]).orElse(false);
        for (long done = 0; done < t.byteSize(); done += CHUNK) {
            int n = (int) Math.min(CHUNK, t.byteSize() - done);
            ByteBuffer b;
            if (direct) {
                b = src.asSlice(done, n).asByteBuffer();
            } else {
                byte[] staged = new byte[n];
                MemorySegment.copy(src, done, MemorySegment.ofArray(staged), 0, n);
                b = ByteBuffer.wrap(staged);
            }
            writeFully(ch, b, dataOffset + t.offset() + done);
        }
    }

    /**
     * Checks that every tensor was given, unmaps, flushes and moves the file into place.
     * @throws IllegalStateException naming the tensors never written
     */
    public void finish() throws IOException {
        requireState(State.DATA, "finish");
        synchronized (filled) {
            if (filled.size() != tensors.size()) {
                List<String> missing = new ArrayList<>();
                for (String n : tensors.keySet()) {
                    if (!filled.contains(n)) {
                        missing.add(n);
                    }
                }
                throw new IllegalStateException("GGUF " + out.target() + ": " + missing.size()
                        + " tensors never written, first '" + missing.getFirst() + "'");
            }
        }
        synchronized (mapped) {
            for (MemorySegment seg : mapped) {
                seg.force(); // msync; the fsync in commit() then covers the rest
            }
        }
        arena.close();
        if (behind != null) {
            behind.flush(); // direct writes are on the disk; the fsync in commit() covers the block allocations
            behind.close();
        }
        out.commit();
        state = State.DONE;
    }

    /** Deletes the partial file unless {@link #finish()} succeeded. */
    @Override
    public void close() {
        if (state != State.DONE) {
            if (behind != null) {
                behind.close(); // the writes under way end before the file goes
            }
            arena.close();
            out.close();
            state = State.DONE;
        }
    }

    private GgufTensorInfo lookup(String name) {
        requireState(State.DATA, "writing tensor data");
        GgufTensorInfo t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' was declared");
        }
        return t;
    }

    private GgufTensorInfo claim(String name) {
        GgufTensorInfo t = lookup(name);
        synchronized (filled) {
            if (!filled.add(name)) {
                throw new IllegalStateException("tensor '" + name + "' was already written");
            }
        }
        return t;
    }

    private void requireState(State s, String what) {
        if (state != s) {
            throw new IllegalStateException(what + " is not allowed now (writer is " + state + ")");
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    private GgufException fail(GgufException.Kind kind, String detail) {
        return new GgufException(kind, "GGUF " + out.target() + ": " + detail);
    }
}
