package dev.loraforge.format.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import dev.loraforge.format.safetensors.SafetensorsException.Kind;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parsed and fully validated header of a safetensors file: the 8-byte little-endian header length,
 * the JSON object of tensor entries and optional {@code __metadata__}. Parsing touches only the first
 * {@code 8 + headerLength} bytes; every rule of the format (as huggingface/safetensors
 * {@code read_metadata}/{@code validate} apply them, plus a few stricter ones) is checked here, so a
 * reader never sees an offset outside the file.
 */
public final class SafetensorsHeader {
    /** The format's limit on the JSON header, in bytes (safetensors' {@code MAX_HEADER_SIZE}). */
    public static final long MAX_HEADER_SIZE = 100_000_000L;
    /** Bytes of the little-endian u64 that precedes the JSON. */
    public static final int LENGTH_PREFIX_BYTES = 8;
    /** Key of the string-to-string metadata map. */
    public static final String METADATA_KEY = "__metadata__";

    // strings may be as long as the header itself (jackson's default cap is 20 M chars; serde has none)
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength((int) MAX_HEADER_SIZE).build())
            .build();

    /** One tensor entry; offsets are relative to the start of the data region. */
    public record Entry(String name, DType dtype, Shape shape, long begin, long end) {
        public long byteSize() {
            return end - begin;
        }

        public TensorSpec spec() {
            return new TensorSpec(name, dtype, shape);
        }
    }

    private final String source;
    private final long headerLength;
    private final java.util.SequencedMap<String, String> metadata;
    private final List<Entry> entries;
    private final Map<String, Entry> byName;

    private SafetensorsHeader(String source, long headerLength, Map<String, String> metadata, List<Entry> entries) {
        this.source = source;
        this.headerLength = headerLength;
        this.metadata = metadata == null ? null : Collections.unmodifiableSequencedMap(new LinkedHashMap<>(metadata));
        this.entries = List.copyOf(entries);
        Map<String, Entry> map = HashMap.newHashMap(entries.size());
        for (Entry e : entries) {
            map.put(e.name(), e);
        }
        this.byName = map;
    }

    /** Reads and validates the header through {@code ch}; does not read past the header. */
    public static SafetensorsHeader read(String source, FileChannel ch) throws IOException {
        long fileSize = ch.size();
        byte[] prefix = readFully(ch, 0, (int) Math.min(LENGTH_PREFIX_BYTES, fileSize));
        long n = headerLength(source, prefix, fileSize);
        byte[] json = readFully(ch, LENGTH_PREFIX_BYTES, (int) n);
        return parse(source, n, json, fileSize);
    }

    /** Parses a whole file held in memory (small files and tests). */
    public static SafetensorsHeader parse(String source, byte[] file) {
        byte[] prefix = Arrays.copyOf(file, Math.min(LENGTH_PREFIX_BYTES, file.length));
        long n = headerLength(source, prefix, file.length);
        byte[] json = Arrays.copyOfRange(file, LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + (int) n);
        return parse(source, n, json, file.length);
    }

    /**
     * Checks the length prefix against the file size and the format limit.
     * @param prefix the first bytes of the file (fewer than 8 when the file is that short)
     */
    public static long headerLength(String source, byte[] prefix, long fileSize) {
        if (fileSize < LENGTH_PREFIX_BYTES || prefix.length < LENGTH_PREFIX_BYTES) {
            throw new SafetensorsException(Kind.FILE_TOO_SHORT, source + ": file has " + fileSize
                    + " bytes, fewer than the " + LENGTH_PREFIX_BYTES + "-byte header length");
        }
        long n = ByteBuffer.wrap(prefix, 0, LENGTH_PREFIX_BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (Long.compareUnsigned(n, MAX_HEADER_SIZE) > 0) {
            throw new SafetensorsException(Kind.HEADER_TOO_LARGE, source + ": header length "
                    + Long.toUnsignedString(n) + " exceeds the format limit of " + MAX_HEADER_SIZE + " bytes");
        }
        if (n > fileSize - LENGTH_PREFIX_BYTES) {
            throw new SafetensorsException(Kind.HEADER_BEYOND_FILE, source + ": header length " + n
                    + " runs past the end of the file (" + fileSize + " bytes)");
        }
        return n;
    }

    /** Parses and validates the JSON header of a file of {@code fileSize} bytes. */
    public static SafetensorsHeader parse(String source, long headerLength, byte[] json, long fileSize) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(json)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(Kind.HEADER_NOT_UTF8, source + ": header (" + json.length
                    + " bytes) is not valid UTF-8", e);
        }
        Map<String, String> metadata = null;
        List<Entry> entries = new ArrayList<>();
        try (JsonParser p = JSON.createParser(text)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw notObject(source, "header is not a JSON object");
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                checkWellFormed(source, key);
                p.nextToken();
                if (key.equals(METADATA_KEY)) {
                    metadata = parseMetadata(source, p);
                } else {
                    entries.add(parseEntry(source, key, p));
                }
            }
            if (t != JsonToken.END_OBJECT) {
                throw notObject(source, "header object is not closed");
            }
            if (p.nextToken() != null) {
                throw notObject(source, "content after the header object at offset "
                        + p.currentTokenLocation().getCharOffset());
            }
        } catch (StreamReadException e) {
            String msg = e.getOriginalMessage();
            if (msg != null && msg.startsWith("Duplicate")) {
                throw new SafetensorsException(Kind.DUPLICATE_KEY, source + ": " + msg, e);
            }
            throw new SafetensorsException(Kind.HEADER_NOT_JSON_OBJECT, source + ": header is not valid JSON: "
                    + e.getMessage(), e);
        } catch (IOException e) {
            throw new SafetensorsException(Kind.HEADER_NOT_JSON_OBJECT, source + ": header is not valid JSON: "
                    + e.getMessage(), e);
        }
        long dataLength = fileSize - LENGTH_PREFIX_BYTES - headerLength;
        checkLayout(source, entries, dataLength);
        return new SafetensorsHeader(source, headerLength, metadata, entries);
    }

    private static Map<String, String> parseMetadata(String source, JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null; // safetensors treats a null __metadata__ as absent
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsException(Kind.METADATA_INVALID, source + ": " + METADATA_KEY
                    + " is " + p.currentToken() + ", not an object of strings");
        }
        Map<String, String> map = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            checkWellFormed(source, key);
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw new SafetensorsException(Kind.METADATA_INVALID, source + ": " + METADATA_KEY + " value of '"
                        + key + "' is " + p.currentToken() + ", not a string");
            }
            String value = p.getText();
            checkWellFormed(source, value);
            map.put(key, value);
        }
        return map;
    }

    private static Entry parseEntry(String source, String name, JsonParser p) throws IOException {
        String where = source + ": tensor '" + name + "'";
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafetensorsException(Kind.TENSOR_ENTRY_INVALID, where + ": entry is " + p.currentToken()
                    + ", not an object");
        }
        DType dtype = null;
        long[] dims = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (p.currentToken() != JsonToken.VALUE_STRING) {
                        throw new SafetensorsException(Kind.TENSOR_ENTRY_INVALID, where + ": dtype is "
                                + p.currentToken() + ", not a string");
                    }
                    String d = p.getText();
                    dtype = DType.fromFileName(d).orElseThrow(() -> new SafetensorsException(Kind.UNKNOWN_DTYPE,
                            where + ": unknown dtype \"" + d + "\""));
                }
                case "shape" -> dims = readLongs(where, "shape", p, Kind.SHAPE_INVALID);
                case "data_offsets" -> {
                    offsets = readLongs(where, "data_offsets", p, Kind.OFFSETS_INVALID);
                    if (offsets.length != 2 || offsets[0] > offsets[1]) {
                        throw new SafetensorsException(Kind.OFFSETS_INVALID, where + ": data_offsets "
                                + Arrays.toString(offsets) + " is not [begin, end] with begin <= end");
                    }
                }
                default -> throw new SafetensorsException(Kind.UNKNOWN_FIELD, where + ": unknown field \""
                        + field + "\" (only dtype, shape, data_offsets are allowed)");
            }
        }
        if (dtype == null || dims == null || offsets == null) {
            throw new SafetensorsException(Kind.TENSOR_ENTRY_INVALID, where + ": entry lacks "
                    + (dtype == null ? "dtype" : dims == null ? "shape" : "data_offsets"));
        }
        long bytes = byteCount(where, dtype, dims);
        long size = offsets[1] - offsets[0];
        if (size != bytes) {
            throw new SafetensorsException(Kind.SIZE_MISMATCH, where + ": data_offsets "
                    + Arrays.toString(offsets) + " span " + size + " bytes, but " + dtype + " "
                    + Arrays.toString(dims) + " needs " + bytes);
        }
        return new Entry(name, dtype, Shape.of(dims), offsets[0], offsets[1]);
    }

    /** dtype bits times element count, over 8, with safetensors' overflow and sub-byte rules. */
    private static long byteCount(String where, DType dtype, long[] dims) {
        long bits;
        try {
            bits = Math.multiplyExact(Shape.elementCountOf(dims), (long) dtype.bits());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(Kind.ELEMENT_COUNT_OVERFLOW, where + ": shape "
                    + Arrays.toString(dims) + " of " + dtype + " overflows 64 bits");
        }
        if (bits % 8 != 0) {
            throw new SafetensorsException(Kind.MISALIGNED_SUBBYTE, where + ": " + dtype + " "
                    + Arrays.toString(dims) + " is " + bits + " bits, not a whole number of bytes");
        }
        return bits / 8;
    }

    private static long[] readLongs(String where, String field, JsonParser p, Kind kind) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new SafetensorsException(kind, where + ": " + field + " is " + p.currentToken() + ", not an array");
        }
        long[] out = new long[4];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_NUMBER_INT) {
                throw new SafetensorsException(kind, where + ": " + field + " entry " + n + " is "
                        + (t == JsonToken.VALUE_NUMBER_FLOAT ? p.getText() : t) + ", not a non-negative integer");
            }
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw new SafetensorsException(kind == Kind.SHAPE_INVALID ? Kind.ELEMENT_COUNT_OVERFLOW : kind,
                        where + ": " + field + " entry " + n + " = " + p.getText() + " exceeds 64 bits");
            }
            long v = p.getLongValue();
            if (v < 0) {
                throw new SafetensorsException(kind, where + ": " + field + " entry " + n + " = " + v
                        + " is negative");
            }
            if (n == out.length) {
                out = Arrays.copyOf(out, n * 2);
            }
            out[n++] = v;
        }
        return Arrays.copyOf(out, n);
    }

    /** Sorted by offsets, the tensors must tile [0, dataLength) exactly. */
    private static void checkLayout(String source, List<Entry> entries, long dataLength) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long cursor = 0;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.begin() < cursor) {
                throw new SafetensorsException(Kind.TENSORS_OVERLAP, source + ": tensor '" + e.name()
                        + "' [" + e.begin() + ", " + e.end() + ") overlaps tensor '" + previous.name() + "' ["
                        + previous.begin() + ", " + previous.end() + ")");
            }
            if (e.begin() > cursor) {
                throw new SafetensorsException(Kind.DATA_HOLE, source + ": bytes [" + cursor + ", " + e.begin()
                        + ") before tensor '" + e.name() + "' belong to no tensor");
            }
            cursor = e.end();
            previous = e;
        }
        if (cursor > dataLength) {
            throw new SafetensorsException(Kind.DATA_TRUNCATED, source + ": tensor '" + previous.name()
                    + "' ends at data offset " + cursor + " but the data region has only " + dataLength + " bytes");
        }
        if (cursor < dataLength) {
            throw new SafetensorsException(Kind.TRAILING_BYTES, source + ": " + (dataLength - cursor)
                    + " bytes after the last tensor (tensors cover " + cursor + " of " + dataLength + " data bytes)");
        }
    }

    /** serde_json (the reference parser) rejects lone surrogate escapes; so do we. */
    private static void checkWellFormed(String source, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw notObject(source, "string contains a lone surrogate \\u"
                        + Integer.toHexString(c) + " at char " + i);
            }
        }
    }

    private static SafetensorsException notObject(String source, String what) {
        return new SafetensorsException(Kind.HEADER_NOT_JSON_OBJECT, source + ": " + what);
    }

    private static byte[] readFully(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            int r = ch.read(buf, position + buf.position());
            if (r < 0) {
                throw new EOFException("file ended at " + (position + buf.position()) + " while reading the header");
            }
        }
        return buf.array();
    }

    /** Where the header came from, as used in messages. */
    public String source() {
        return source;
    }

    /** Length of the JSON text (with padding), the value of the 8-byte prefix. */
    public long headerLength() {
        return headerLength;
    }

    /** File offset where tensor data begins. */
    public long dataStart() {
        return LENGTH_PREFIX_BYTES + headerLength;
    }

    /** Bytes of tensor data (the sum of all tensors' sizes). */
    public long dataLength() {
        long max = 0;
        for (Entry e : entries) {
            max = Math.max(max, e.end());
        }
        return max;
    }

    /** Metadata in file order (a SequencedMap, so a writer keeps that order); empty when the header has none. */
    public Map<String, String> metadata() {
        return metadata == null ? Map.of() : metadata;
    }

    /** True when the header has a {@code __metadata__} object (possibly empty). */
    public boolean hasMetadata() {
        return metadata != null;
    }

    /** Tensor entries in header (JSON) order. */
    public List<Entry> entries() {
        return entries;
    }

    public Optional<Entry> entry(String name) {
        return Optional.ofNullable(byName.get(name));
    }
}
