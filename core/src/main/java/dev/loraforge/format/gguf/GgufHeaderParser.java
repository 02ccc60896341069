package dev.loraforge.format.gguf;

import static dev.loraforge.format.gguf.GgufException.Kind.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses and validates the header of a GGUF file held in a memory segment (usually the whole mapped file),
 * in file order, checking every count and length against the bytes that remain before anything is
 * allocated. The rules are those of llama.cpp's gguf.cpp, plus: the product of the dims is overflow-checked,
 * strings must be UTF-8, BOOL bytes must be 0 or 1, and tensor data must lie inside the file.
 */
public final class GgufHeaderParser {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment seg;
    private final String file;
    private final long size;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private long pos;
    private long arrayValues;

    private GgufHeaderParser(MemorySegment seg, String file) {
        this.seg = seg;
        this.file = file;
        this.size = seg.byteSize();
    }

    /**
     * Parses the header of the GGUF file in {@code seg}.
     * @param file the file's name, used in error messages
     * @throws GgufException for any broken rule, naming the file, the key or tensor and the numbers
     */
    public static GgufHeader parse(MemorySegment seg, String file) {
        return new GgufHeaderParser(seg, file).parse();
    }

    private GgufHeader parse() {
        need(GgufFormat.HEADER_SIZE, "the header");
        int magic = seg.get(U32, 0);
        if (magic != GgufFormat.MAGIC) {
            throw fail(NOT_GGUF, "starts with " + printable(4) + ", not \"GGUF\"");
        }
        int version = seg.get(U32, 4);
        pos = 8;
        if (version != 0 && (version & 0xFFFF) == 0) {
            throw fail(BIG_ENDIAN, "version reads as 0x" + Integer.toHexString(version)
                    + ": a big-endian GGUF file, which this reader does not support");
        }
        if (version == 1) {
            throw fail(UNSUPPORTED_VERSION, "is GGUF version 1, which llama.cpp no longer reads either; convert it again");
        }
        if (version < GgufFormat.MIN_VERSION || version > GgufFormat.VERSION) {
            throw fail(UNSUPPORTED_VERSION, "is GGUF version " + Integer.toUnsignedString(version) + "; versions "
                    + GgufFormat.MIN_VERSION + " to " + GgufFormat.VERSION + " are supported");
        }
        long nTensors = readU64();
        long nKv = readU64();
        if (nTensors < 0 || nTensors > remaining() / GgufFormat.MIN_TENSOR_INFO_SIZE) {
            throw fail(TOO_MANY_TENSORS, "declares " + Long.toUnsignedString(nTensors) + " tensors but only "
                    + remaining() + " bytes follow the header");
        }
        if (nKv < 0 || nKv > remaining() / GgufFormat.MIN_KV_SIZE) {
            throw fail(TOO_MANY_KVS, "declares " + Long.toUnsignedString(nKv) + " KV pairs but only "
                    + remaining() + " bytes follow the header");
        }

        List<GgufKv> kvs = new ArrayList<>(initialCapacity(nKv));
        Set<String> keys = new HashSet<>();
        for (long i = 0; i < nKv; i++) {
            long at = pos;
            String key = readString("key of KV pair " + i);
            if (key.isEmpty()) {
                throw fail(EMPTY_KEY, "KV pair " + i + " at byte " + at + " has an empty key");
            }
            if (!keys.add(key)) {
                throw fail(DUPLICATE_KEY, "key '" + key + "' appears twice (again as KV pair " + i + ")");
            }
            GgufValueType type = readType(key);
            kvs.add(new GgufKv(key, readValue(key, type, 0)));
        }

        int alignment = GgufFormat.DEFAULT_ALIGNMENT;
        for (GgufKv kv : kvs) {
            if (kv.key().equals(GgufFormat.KEY_ALIGNMENT)) {
                if (kv.value().type() != GgufValueType.UINT32) {
                    throw fail(ALIGNMENT_TYPE, "'" + GgufFormat.KEY_ALIGNMENT + "' is " + kv.value().type()
                            + ", must be UINT32");
                }
                long a = kv.value().asLong();
                if (a == 0 || Long.bitCount(a) != 1 || a > Integer.MAX_VALUE) {
                    throw fail(BAD_ALIGNMENT, "alignment " + a + " is not a power of two");
                }
                alignment = (int) a;
            }
        }

        List<GgufTensorInfo> infos = new ArrayList<>(initialCapacity(nTensors));
        Map<String, Long> names = new HashMap<>();
        for (long i = 0; i < nTensors; i++) {
            infos.add(readTensorInfo(i, names));
        }

        long dataOffset = GgufFormat.pad(pos, alignment);
        if (nTensors > 0 && dataOffset > size) {
            throw fail(TRUNCATED, "ends at byte " + size + ", before its data section at byte " + dataOffset);
        }
        checkOffsets(infos, alignment, dataOffset);
        return new GgufHeader(version, kvs, infos, alignment, dataOffset);
    }

    private GgufTensorInfo readTensorInfo(long i, Map<String, Long> names) {
        long at = pos;
        String name = readString("name of tensor " + i);
        int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes >= GgufFormat.MAX_NAME) {
            throw fail(NAME_TOO_LONG, "tensor " + i + " at byte " + at + " has a name of " + nameBytes
                    + " bytes; at most " + (GgufFormat.MAX_NAME - 1) + " fit ggml's GGML_MAX_NAME (" + GgufFormat.MAX_NAME + ")");
        }
        if (name.indexOf('\0') >= 0) {
            throw fail(NAME_HAS_NUL, "tensor " + i + " at byte " + at + " has a NUL byte in its name '"
                    + name.replace("\0", "\\0") + "'; ggml would cut the name there");
        }
        Long prev = names.putIfAbsent(name, i);
        if (prev != null) {
            throw fail(DUPLICATE_TENSOR, "tensors " + prev + " and " + i + " are both named '" + name + "'");
        }
        long nDims = readU32();
        if (nDims > GgufFormat.MAX_DIMS) {
            throw fail(TOO_MANY_DIMS, "tensor '" + name + "' has " + nDims + " dimensions; at most "
                    + GgufFormat.MAX_DIMS + " are allowed");
        }
        long[] dims = new long[(int) nDims];
        for (int j = 0; j < nDims; j++) {
            dims[j] = readU64();
            if (dims[j] < 0) {
                throw fail(NEGATIVE_DIM, "tensor '" + name + "' dimension " + j + " is " + dims[j]
                        + " (as unsigned " + Long.toUnsignedString(dims[j]) + ")");
            }
        }
        // the product of the non-zero dims must fit, even when another dim is 0 (gguf.cpp lets it wrap)
        long elements = 1;
        boolean zero = false;
        for (long d : dims) {
            if (d == 0) {
                zero = true;
                continue;
            }
            try {
                elements = Math.multiplyExact(elements, d);
            } catch (ArithmeticException e) {
                throw fail(ELEMENT_COUNT_OVERFLOW, "tensor '" + name + "' has dims " + Arrays.toString(dims)
                        + " whose product exceeds 2^63-1");
            }
        }
        if (zero) {
            elements = 0;
        }
        long typeId = readU32();
        GgmlType type = GgmlType.fromId(typeId).orElseThrow(() -> fail(UNKNOWN_TENSOR_TYPE,
                "tensor '" + name + "' has ggml type id " + typeId + ", which llama.cpp 3f545bec does not know"
                        + " (retired ids are 4, 5, 31-33, 36-38; ids end at " + (GgmlType.TYPE_COUNT - 1) + ")"));
        long ne0 = dims.length == 0 ? 1 : dims[0];
        if (ne0 % type.blockSize() != 0) {
            throw fail(ROW_NOT_BLOCK_MULTIPLE, "tensor '" + name + "' of type " + type + " has rows of " + ne0
                    + " elements, not a multiple of the block size " + type.blockSize());
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(elements / type.blockSize(), (long) type.typeSize());
        } catch (ArithmeticException e) {
            throw fail(BYTE_SIZE_OVERFLOW, "tensor '" + name + "' of type " + type + " with dims "
                    + Arrays.toString(dims) + " has more than 2^63-1 bytes");
        }
        long offset = readU64();
        return new GgufTensorInfo(name, type, dims, offset, bytes);
    }

    private void checkOffsets(List<GgufTensorInfo> infos, int alignment, long dataOffset) {
        long expected = 0;
        long room = size - dataOffset;
        for (GgufTensorInfo t : infos) {
            long off = t.offset();
            if (off < 0 || off > room) {
                throw fail(DATA_OUT_OF_BOUNDS, "tensor '" + t.name() + "' has offset " + Long.toUnsignedString(off)
                        + " but the data section holds " + room + " bytes");
            }
            if (off % alignment != 0) {
                throw fail(OFFSET_MISALIGNED, "tensor '" + t.name() + "' has offset " + off
                        + ", not a multiple of the alignment " + alignment);
            }
            if (off < expected) {
                throw fail(OFFSET_OVERLAP, "tensor '" + t.name() + "' has offset " + off
                        + ", inside the previous tensor's data, which runs to " + expected);
            }
            if (off != expected) {
                throw fail(OFFSET_UNEXPECTED, "tensor '" + t.name() + "' has offset " + off + ", expected " + expected
                        + " (llama.cpp requires tensors back to back, each padded to " + alignment + ")");
            }
            if (t.byteSize() > room - off) {
                throw fail(DATA_OUT_OF_BOUNDS, "tensor '" + t.name() + "' needs bytes " + off + " to "
                        + (off + t.byteSize()) + " of the data section, which holds " + room);
            }
            expected = GgufFormat.pad(off + t.byteSize(), alignment);
        }
    }

    private GgufValue readValue(String key, GgufValueType type, int depth) {
        return switch (type) {
            case STRING -> new GgufValue.Str(readString("value of '" + key + "'"));
            case ARRAY -> readArray(key, depth);
            case BOOL -> {
                need(1, "value of '" + key + "'");
                int b = seg.get(ValueLayout.JAVA_BYTE, pos) & 0xFF;
                if (b > 1) {
                    throw fail(BAD_BOOL, "key '" + key + "' has a BOOL stored as " + b + " at byte " + pos
                            + "; only 0 and 1 are valid");
                }
                pos++;
                yield new GgufValue.Scalar(type, b);
            }
            default -> {
                need(type.size(), "value of '" + key + "'");
                long bits = switch (type.size()) {
                    case 1 -> seg.get(ValueLayout.JAVA_BYTE, pos) & 0xFFL;
                    case 2 -> seg.get(U16, pos) & 0xFFFFL;
                    case 4 -> seg.get(U32, pos) & 0xFFFF_FFFFL;
                    default -> seg.get(U64, pos);
                };
                pos += type.size();
                yield new GgufValue.Scalar(type, bits);
            }
        };
    }

    private GgufValue.Array readArray(String key, int depth) {
        if (depth >= GgufFormat.MAX_ARRAY_DEPTH) {
            throw fail(ARRAY_TOO_DEEP, "key '" + key + "' nests arrays more than " + GgufFormat.MAX_ARRAY_DEPTH + " deep");
        }
        GgufValueType et = readType(key);
        long at = pos;
        long n = readU64();
        // smallest encoding of one element: a string is its 8-byte length, an array its type + count
        long min = switch (et) {
            case STRING -> 8;
            case ARRAY -> 12;
            default -> et.size();
        };
        if (n < 0 || n > GgufFormat.MAX_ARRAY_ELEMENTS || n > remaining() / min) {
            throw fail(ARRAY_TOO_LONG, "key '" + key + "' declares an array of " + Long.toUnsignedString(n) + " "
                    + et + " at byte " + at + "; the limit is " + GgufFormat.MAX_ARRAY_ELEMENTS + " and "
                    + remaining() + " bytes remain");
        }
        arrayValues += n;
        if (arrayValues > GgufFormat.MAX_HEADER_VALUES) {
            throw fail(ARRAY_TOO_LONG, "key '" + key + "' brings the array elements of the header to " + arrayValues
                    + "; at most " + GgufFormat.MAX_HEADER_VALUES + " are read");
        }
        List<GgufValue> items = new ArrayList<>(initialCapacity(n));
        for (long i = 0; i < n; i++) {
            items.add(readValue(key, et, depth + 1));
        }
        return new GgufValue.Array(et, items);
    }

    private GgufValueType readType(String key) {
        long at = pos;
        long id = readU32();
        return GgufValueType.fromId(id).orElseThrow(() -> fail(UNKNOWN_VALUE_TYPE,
                "key '" + key + "' has value type " + id + " at byte " + at + "; GGUF types are 0 to 12"));
    }

    private String readString(String what) {
        long at = pos;
        long n = readU64();
        if (n < 0 || n > GgufFormat.MAX_STRING_LENGTH || n > remaining()) {
            throw fail(STRING_TOO_LONG, what + " at byte " + at + " claims " + Long.toUnsignedString(n)
                    + " bytes; the limit is " + GgufFormat.MAX_STRING_LENGTH + " and " + remaining() + " bytes remain");
        }
        byte[] b = new byte[(int) n];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, b.length);
        pos += n;
        if (isAscii(b)) {
            return new String(b, StandardCharsets.ISO_8859_1); // the common case, without a decoder
        }
        try {
            return utf8.reset().decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw fail(INVALID_UTF8, what + " at byte " + at + " is not valid UTF-8");
        }
    }

    /** Counts are only plausible, not proven, until the items are read: don't let them size allocations. */
    private static int initialCapacity(long n) {
        return (int) Math.min(n, 4096);
    }

    private static boolean isAscii(byte[] b) {
        for (byte x : b) {
            if (x < 0) {
                return false;
            }
        }
        return true;
    }

    private long readU32() {
        need(4, "a uint32");
        long v = seg.get(U32, pos) & 0xFFFF_FFFFL;
        pos += 4;
        return v;
    }

    private long readU64() {
        need(8, "a uint64");
        long v = seg.get(U64, pos);
        pos += 8;
        return v;
    }

    private long remaining() {
        return size - pos;
    }

    private void need(long n, String what) {
        if (n > remaining()) {
            throw fail(TRUNCATED, "ends at byte " + size + " while reading " + what + " at byte " + pos);
        }
    }

    private String printable(int n) {
        StringBuilder sb = new StringBuilder("'");
        for (int i = 0; i < n; i++) {
            int c = seg.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            sb.append(c >= 0x20 && c < 0x7F ? (char) c : '?');
        }
        return sb.append("'").toString();
    }

    private GgufException fail(GgufException.Kind kind, String detail) {
        return new GgufException(kind, "GGUF file " + file + ": " + detail);
    }
}
