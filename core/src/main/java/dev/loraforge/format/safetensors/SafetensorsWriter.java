package dev.loraforge.format.safetensors;

import dev.loraforge.io.AtomicFile;
import dev.loraforge.io.Piece;
import dev.loraforge.io.WriteBehind;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorSource;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file atomically. All tensors (name, dtype, shape) and the metadata are declared
 * up front, so the header is final before any data is written; then each tensor's bytes are filled exactly
 * once, either in place through {@link #segmentFor} (a mapped slice of the output, so producers can fill
 * tensors in parallel without a copy) or by {@link #write}. {@link #commit()} checks every tensor was
 * filled, syncs and renames the file into place; {@link #close()} without commit leaves nothing behind.
 *
 * <p>In {@link Order#LIBRARY} order the bytes are exactly those of huggingface/safetensors'
 * {@code serialize}: tensors sorted by dtype (descending Rust {@code Dtype} order, i.e. widest alignment
 * first) then by name, compact JSON with {@code __metadata__} first and entry fields dtype, shape,
 * data_offsets, padded with spaces to a multiple of 8. (The library's metadata is a hash map, so with more
 * than one metadata key its key order is arbitrary; we keep the order of a SequencedMap and sort any other.)
 */
public final class SafetensorsWriter implements AutoCloseable {

    /** Tensor order in the file. */
    public enum Order {
        /** As the safetensors library writes: dtype descending, then name (UTF-8 byte order). */
        LIBRARY,
        /** In the order given (to copy a file laid out by another writer byte for byte). */
        AS_GIVEN
    }

    /** The Rust {@code Dtype} enum order the library sorts by (names not in {@link DType} included). */
    private static final List<String> RUST_DTYPE_ORDER = List.of("BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8",
            "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32",
            "F32", "C64", "F64", "I64", "U64");

    private static final Comparator<TensorSpec> LIBRARY_ORDER = Comparator
            .comparingInt((TensorSpec t) -> -rustRank(t.dtype()))
            .thenComparing(TensorSpec::name, SafetensorsWriter::compareUtf8);

    private final AtomicFile out;
    private final List<TensorSpec> order;
    private final Map<String, long[]> ranges; // name -> {begin, end} relative to data start
    private final Map<String, Boolean> filled = new HashMap<>();
    private final long dataStart;
    private final long dataLength;
    private Arena arena;
    private MemorySegment data;
    private WriteBehind behind; // created by the first piece
    private boolean committed;
    private boolean closed;

    private SafetensorsWriter(AtomicFile out, List<TensorSpec> order, long dataStart) {
        this.out = out;
        this.order = List.copyOf(order);
        this.dataStart = dataStart;
        this.ranges = HashMap.newHashMap(order.size());
        long off = 0;
        for (TensorSpec t : order) {
            long end = Math.addExact(off, t.byteSize());
            ranges.put(t.name(), new long[] {off, end});
            off = end;
        }
        this.dataLength = off;
    }

    /** Opens a writer with the tensors in {@link Order#LIBRARY} order. */
    public static SafetensorsWriter create(Path target, Map<String, String> metadata, Collection<TensorSpec> tensors,
                                           boolean overwrite) throws IOException {
        return create(target, metadata, tensors, Order.LIBRARY, overwrite);
    }

    /**
     * Opens a temporary file beside {@code target} and writes the header.
     * @param metadata the {@code __metadata__} map, or null to write none
     * @throws IllegalArgumentException for duplicate or reserved names or a header over the format limit
     */
    public static SafetensorsWriter create(Path target, Map<String, String> metadata, Collection<TensorSpec> tensors,
                                           Order order, boolean overwrite) throws IOException {
        List<TensorSpec> ordered = order(tensors, order);
        byte[] header = encodeHeader(metadata, ordered);
        AtomicFile af = AtomicFile.create(target, overwrite);
        try {
            SafetensorsWriter w = new SafetensorsWriter(af, ordered, header.length);
            FileChannel ch = af.channel();
            writeFully(ch, ByteBuffer.wrap(header), 0);
            if (w.dataLength > 0) {
                // size the file now (sparse); tensors can then be filled in any order
                writeFully(ch, ByteBuffer.allocate(1), Math.addExact(w.dataStart, w.dataLength) - 1);
            }
            return w;
        } catch (IOException | RuntimeException e) {
            af.close();
            throw e;
        }
    }

    /** Writes every tensor of {@code source} named in {@code names} (a whole-file copy when all names). */
    public static void write(Path target, Map<String, String> metadata, TensorSource source, List<String> names,
                             Order order, boolean overwrite) throws IOException {
        List<TensorView> views = new ArrayList<>(names.size());
        for (String n : names) {
            views.add(source.get(n));
        }
        write(target, metadata, views, order, overwrite);
    }

    /** Writes the given views. */
    public static void write(Path target, Map<String, String> metadata, Collection<TensorView> tensors, Order order,
                             boolean overwrite) throws IOException {
        List<TensorSpec> specs = new ArrayList<>(tensors.size());
        for (TensorView v : tensors) {
            specs.add(new TensorSpec(v.name(), v.dtype(), v.shape()));
        }
        try (SafetensorsWriter w = create(target, metadata, specs, order, overwrite)) {
            for (TensorView v : tensors) {
                w.write(v.name(), v.data());
            }
            w.commit();
        }
    }

    /** The tensors in {@code order}; checks names are unique and not reserved. */
    public static List<TensorSpec> order(Collection<TensorSpec> tensors, Order order) {
        List<TensorSpec> list = new ArrayList<>(tensors);
        Map<String, TensorSpec> seen = HashMap.newHashMap(list.size());
        for (TensorSpec t : list) {
            if (t.name().equals(SafetensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("tensor name " + SafetensorsHeader.METADATA_KEY + " is reserved");
            }
            if (seen.put(t.name(), t) != null) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' declared twice");
            }
        }
        if (order == Order.LIBRARY) {
            list.sort(LIBRARY_ORDER);
        }
        return list;
    }

    /**
     * The file's first bytes for tensors already in file order: 8-byte length, compact JSON, space padding
     * to a multiple of 8 (as safetensors' {@code prepare} builds them).
     */
    public static byte[] encodeHeader(Map<String, String> metadata, List<TensorSpec> ordered) {
        StringBuilder sb = new StringBuilder(64 + 96 * ordered.size());
        sb.append('{');
        boolean first = true;
        if (metadata != null) {
            jsonString(sb, SafetensorsHeader.METADATA_KEY);
            sb.append(":{");
            boolean firstKey = true;
            for (Map.Entry<String, String> e : deterministicOrder(metadata)) {
                if (!firstKey) {
                    sb.append(',');
                }
                jsonString(sb, e.getKey());
                sb.append(':');
                jsonString(sb, e.getValue());
                firstKey = false;
            }
            sb.append('}');
            first = false;
        }
        long off = 0;
        for (TensorSpec t : ordered) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            long end = Math.addExact(off, t.byteSize());
            jsonString(sb, t.name());
            sb.append(":{\"dtype\":\"").append(t.dtype().fileName()).append("\",\"shape\":[");
            long[] dims = t.shape().dims();
            for (int i = 0; i < dims.length; i++) {
                sb.append(i == 0 ? "" : ",").append(dims[i]);
            }
            sb.append("],\"data_offsets\":[").append(off).append(',').append(end).append("]}");
            off = end;
        }
        sb.append('}');
        byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
        long padded = (json.length + 7L) / 8 * 8;
        if (padded > SafetensorsHeader.MAX_HEADER_SIZE) {
            throw new IllegalArgumentException("header of " + padded + " bytes exceeds the format limit of "
                    + SafetensorsHeader.MAX_HEADER_SIZE);
        }
        byte[] outBytes = new byte[SafetensorsHeader.LENGTH_PREFIX_BYTES + (int) padded];
        ByteBuffer.wrap(outBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        System.arraycopy(json, 0, outBytes, SafetensorsHeader.LENGTH_PREFIX_BYTES, json.length);
        Arrays.fill(outBytes, SafetensorsHeader.LENGTH_PREFIX_BYTES + json.length, outBytes.length, (byte) ' ');
        return outBytes;
    }

    /**
     * A map with an encounter order (LinkedHashMap, TreeMap, a file's metadata) keeps it; any other map
     * (HashMap, Map.of, whose order changes between runs) is sorted by key so output is reproducible.
     */
    private static List<Map.Entry<String, String>> deterministicOrder(Map<String, String> metadata) {
        List<Map.Entry<String, String>> entries = new ArrayList<>(metadata.entrySet());
        if (!(metadata instanceof java.util.SequencedMap<String, String>)) {
            entries.sort(Map.Entry.comparingByKey(SafetensorsWriter::compareUtf8));
        }
        return entries;
    }

    /** serde_json's escaping: quote, backslash and control characters only; the rest raw UTF-8. */
    static void jsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    sb.append(c).append(s.charAt(++i));
                    continue;
                }
                throw new IllegalArgumentException("string with a lone surrogate at char " + i + ": " + s);
            }
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    private static int rustRank(DType d) {
        int i = RUST_DTYPE_ORDER.indexOf(d.fileName());
        if (i < 0) {
            throw new IllegalStateException("no Rust order for dtype " + d);
        }
        return i;
    }

    /** Rust's String order: UTF-8 bytes, which is code point order. */
    static int compareUtf8(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** Tensors in file order. */
    public List<TensorSpec> tensors() {
        return order;
    }

    /** Size of the finished file. */
    public long fileSize() {
        return dataStart + dataLength;
    }

    public Path target() {
        return out.target();
    }

    /**
     * The output bytes of tensor {@code name}, mapped read-write, for the caller to fill. Claims the tensor:
     * it may not be claimed or written again. Valid until commit or close. Thread-safe.
     */
    public synchronized MemorySegment segmentFor(String name) throws IOException {
        long[] r = claim(name);
        if (r[1] == r[0]) {
            return MemorySegment.ofArray(new byte[0]);
        }
        if (data == null) {
            arena = Arena.ofShared();
            data = out.channel().map(FileChannel.MapMode.READ_WRITE, dataStart, dataLength, arena);
        }
        return data.asSlice(r[0], r[1] - r[0]);
    }

    /** Copies {@code src} (exactly the tensor's byte size) into the file. */
    public void write(String name, MemorySegment src) throws IOException {
        long[] r;
        synchronized (this) {
            r = ranges.get(name);
            if (r != null && src.byteSize() != r[1] - r[0]) {
                throw new IllegalArgumentException("tensor '" + name + "': " + src.byteSize() + " bytes given, "
                        + (r[1] - r[0]) + " declared");
            }
            r = claim(name);
        }
        writeAt(src, dataStart + r[0]);
    }

    /**
     * Claims tensor {@code name} for positioned writes through the file channel, in parts and from any
     * thread. Unlike {@link #segmentFor}, nothing is mapped: written pages do not count in the process's
     * memory, and there is no page fault per page.
     */
    public synchronized Slot slot(String name) {
        long[] r = claim(name);
        return new Slot(name, dataStart + r[0], r[1] - r[0]);
    }

    /** A claimed tensor's bytes in the file; see {@link #slot}. Thread-safe. */
    public final class Slot {
        private final String name;
        private final long position;
        private final long size;

        private Slot(String name, long position, long size) {
            this.name = name;
            this.position = position;
            this.size = size;
        }

        public long byteSize() {
            return size;
        }

        /** Writes {@code src} at byte {@code at} of the tensor. */
        public void write(long at, MemorySegment src) throws IOException {
            check(at, src.byteSize());
            writeAt(src, position + at);
        }

        /**
         * A buffer for {@code bytes} bytes at byte {@code at} of the tensor, written in the background once
         * filled and handed back ({@link WriteBehind}: direct I/O, bounded buffers); {@link #commit()} waits
         * for them. Blocks while every buffer is in use.
         */
        public Piece piece(long at, long bytes) throws IOException {
            check(at, bytes);
            return writeBehind().take(position + at, bytes);
        }

        private void check(long at, long bytes) {
            if (at < 0 || at > size || bytes < 0 || bytes > size - at) {
                throw new IndexOutOfBoundsException("tensor '" + name + "' of " + out.target() + ": " + bytes
                        + " bytes at " + at + " do not fit in " + size);
            }
        }
    }

    private synchronized WriteBehind writeBehind() {
        if (committed || closed) {
            throw new IllegalStateException(out.target() + ": writer is " + (committed ? "committed" : "closed"));
        }
        if (behind == null) {
            behind = WriteBehind.open(out.tempPath(), out.channel());
        }
        return behind;
    }

    private void writeAt(MemorySegment src, long filePos) throws IOException {
        // ByteBuffer views are limited to 2 GiB and exist only for native or byte[] segments
        boolean direct = src.isNative() || src.heapBase().map(b -> b instanceof byte[]).orElse(false);
        long chunk = direct ? 1L << 30 : 1L << 20;
        byte[] buf = direct ? null : new byte[(int) Math.min(chunk, src.byteSize())];
        for (long pos = 0; pos < src.byteSize(); pos += chunk) {
            long n = Math.min(chunk, src.byteSize() - pos);
            ByteBuffer bb;
            if (direct) {
                bb = src.asSlice(pos, n).asByteBuffer();
            } else {
                MemorySegment.copy(src, java.lang.foreign.ValueLayout.JAVA_BYTE, pos, buf, 0, (int) n);
                bb = ByteBuffer.wrap(buf, 0, (int) n);
            }
            writeFully(out.channel(), bb, filePos + pos);
        }
    }

    private long[] claim(String name) {
        if (committed || closed) {
            throw new IllegalStateException(out.target() + ": writer is " + (committed ? "committed" : "closed"));
        }
        long[] r = ranges.get(name);
        if (r == null) {
            throw new IllegalArgumentException("tensor '" + name + "' was not declared for " + out.target());
        }
        if (filled.putIfAbsent(name, Boolean.TRUE) != null) {
            throw new IllegalStateException("tensor '" + name + "' of " + out.target() + " written twice");
        }
        return r;
    }

    /** Declared tensors not yet claimed by {@link #segmentFor}, {@link #slot} or {@link #write}, in file order. */
    public synchronized List<String> unwritten() {
        List<String> missing = new ArrayList<>();
        for (TensorSpec t : order) {
            if (!filled.containsKey(t.name())) {
                missing.add(t.name());
            }
        }
        return missing;
    }

    /** Checks every tensor was filled, waits for the pieces, flushes, syncs and renames into place. */
    public synchronized void commit() throws IOException {
        if (committed || closed) {
            throw new IllegalStateException(out.target() + ": writer is " + (committed ? "committed" : "closed"));
        }
        if (behind != null) {
            behind.flush();
            behind.close();
        }
        if (filled.size() != order.size()) {
            List<String> missing = unwritten();
            throw new IllegalStateException(out.target() + ": " + missing.size() + " of " + order.size()
                    + " tensors never written, e.g. " + missing.subList(0, Math.min(5, missing.size())));
        }
        if (data != null) {
            data.force();
            arena.close();
            data = null;
        }
        out.commit();
        committed = true;
    }

    /** Discards the output unless committed. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (behind != null) {
            behind.close(); // the writes under way end before the file goes
        }
        if (data != null) {
            arena.close();
            data = null;
        }
        out.close();
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long p = position;
        while (buf.hasRemaining()) {
            p += ch.write(buf, p);
        }
    }
}
