package dev.loraforge.format.torch;

import dev.loraforge.format.torch.TorchFormatException.Kind;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * The zip container of a PyTorch checkpoint, read from the central directory over a mapped file so
 * entry data is a zero-copy slice. Only STORED, unencrypted entries are accepted (torch writes no
 * other kind); names must stay inside one archive folder; entries must not share bytes.
 */
public final class TorchZip {
    static final int EOCD_SIG = 0x06054b50;
    static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    static final int ZIP64_EOCD_SIG = 0x06064b50;
    static final int CENTRAL_SIG = 0x02014b50;
    static final int LOCAL_SIG = 0x04034b50;
    static final int EOCD_SIZE = 22;
    static final int ZIP64_LOCATOR_SIZE = 20;
    static final int ZIP64_EOCD_SIZE = 56;
    static final int CENTRAL_SIZE = 46;
    static final int LOCAL_SIZE = 30;
    static final int MAX_COMMENT = 0xFFFF;
    static final int ZIP64_EXTRA_ID = 0x0001;
    static final int METHOD_STORED = 0;
    static final int FLAG_ENCRYPTED = 0x0001;
    static final long U32_MAX = 0xFFFFFFFFL;
    /** More entries than any real checkpoint has (one per storage); bounds the directory work. */
    public static final int MAX_ENTRIES = 1 << 20;
    public static final int MAX_NAME_BYTES = 4096;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One stored entry: its name, where its bytes start in the file, how many, and its CRC-32. */
    public record Entry(String name, long localHeaderOffset, long dataOffset, long size, int crc32) {
    }

    private final String fileName;
    private final MemorySegment file;
    private final String prefix;
    private final Map<String, Entry> entries;

    private TorchZip(String fileName, MemorySegment file, String prefix, Map<String, Entry> entries) {
        this.fileName = fileName;
        this.file = file;
        this.prefix = prefix;
        this.entries = entries;
    }

    /** Parses and validates the whole directory; no entry data is read. */
    public static TorchZip read(MemorySegment file, String fileName) {
        return new Parser(file, fileName).parse();
    }

    /** True when the bytes start like a zip local header (what torch's zip format does). */
    public static boolean looksLikeZip(MemorySegment file) {
        return file.byteSize() >= 4 && file.get(U32, 0) == LOCAL_SIG;
    }

    /** The archive folder all entries live in, e.g. {@code "pytorch_model"} or {@code "archive"}. */
    public String prefix() {
        return prefix;
    }

    /** Entries in directory order. */
    public List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    /** An entry by its path inside the archive folder, e.g. {@code "data.pkl"} or {@code "data/0"}. */
    public Optional<Entry> find(String relativeName) {
        return Optional.ofNullable(entries.get(prefix + "/" + relativeName));
    }

    /** The entry's bytes, zero-copy. */
    public MemorySegment data(Entry e) {
        return file.asSlice(e.dataOffset(), e.size());
    }

    /** Recomputes the CRC-32 of an entry; fails when it differs from the directory's. */
    public void checkCrc(Entry e) {
        CRC32 crc = new CRC32();
        crc.update(data(e).asByteBuffer());
        if ((int) crc.getValue() != e.crc32()) {
            throw new TorchFormatException(Kind.BAD_ZIP, fileName + ": entry '" + e.name() + "' has CRC-32 "
                    + Integer.toHexString((int) crc.getValue()) + ", directory says " + Integer.toHexString(e.crc32()));
        }
    }

    public String fileName() {
        return fileName;
    }

    private static final class Parser {
        private final MemorySegment f;
        private final String fileName;
        private final long size;

        Parser(MemorySegment f, String fileName) {
            this.f = f;
            this.fileName = fileName;
            this.size = f.byteSize();
        }

        private TorchFormatException bad(String msg) {
            return new TorchFormatException(Kind.BAD_ZIP, fileName + ": " + msg);
        }

        private int u16(long off) {
            return f.get(U16, off) & 0xFFFF;
        }

        private long u32(long off) {
            return f.get(U32, off) & U32_MAX;
        }

        TorchZip parse() {
            if (!looksLikeZip(f)) {
                throw new TorchFormatException(Kind.NOT_ZIP, fileName + ": not a zip archive (torch's format since 1.6)"
                        + " nor torch's legacy format");
            }
            long eocd = findEocd();
            long count = u16(eocd + 10);
            long cdSize = u32(eocd + 12);
            long cdOffset = u32(eocd + 16);
            if (u16(eocd + 4) != 0 || u16(eocd + 6) != 0 || u16(eocd + 8) != count) {
                throw bad("multi-disk archives are not supported");
            }
            long cdEnd = eocd;
            if (eocd >= ZIP64_LOCATOR_SIZE && f.get(U32, eocd - ZIP64_LOCATOR_SIZE) == ZIP64_LOCATOR_SIG) {
                long loc = eocd - ZIP64_LOCATOR_SIZE;
                long z = f.get(U64, loc + 8);
                if (z < 0 || z > loc - ZIP64_EOCD_SIZE || f.get(U32, z) != ZIP64_EOCD_SIG) {
                    throw bad("zip64 end record offset " + z + " is invalid");
                }
                count = f.get(U64, z + 32);
                cdSize = f.get(U64, z + 40);
                cdOffset = f.get(U64, z + 48);
                cdEnd = z;
            }
            if (count < 0 || count > MAX_ENTRIES) {
                throw new TorchFormatException(Kind.SIZE_LIMIT, fileName + ": " + count + " entries, limit " + MAX_ENTRIES);
            }
            if (cdOffset < 0 || cdSize < 0 || cdOffset > cdEnd || cdSize != cdEnd - cdOffset) {
                throw bad("central directory at " + cdOffset + " size " + cdSize + " does not end at " + cdEnd);
            }
            Map<String, Entry> map = new LinkedHashMap<>();
            String prefix = null;
            long p = cdOffset;
            for (long i = 0; i < count; i++) {
                if (p + CENTRAL_SIZE > cdEnd || f.get(U32, p) != CENTRAL_SIG) {
                    throw bad("central directory entry " + i + " at " + p + " is missing or truncated");
                }
                int flags = u16(p + 8);
                int method = u16(p + 10);
                int crc = f.get(U32, p + 16);
                long csize = u32(p + 20);
                long usize = u32(p + 24);
                int nameLen = u16(p + 28);
                int extraLen = u16(p + 30);
                int commentLen = u16(p + 32);
                long local = u32(p + 42);
                long next = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
                if (next > cdEnd) {
                    throw bad("central directory entry " + i + " runs past the directory end");
                }
                String name = utf8(p + CENTRAL_SIZE, nameLen);
                long[] z64 = zip64(p + CENTRAL_SIZE + nameLen, extraLen, usize, csize, local, name);
                usize = z64[0];
                csize = z64[1];
                local = z64[2];
                if ((flags & FLAG_ENCRYPTED) != 0) {
                    throw new TorchFormatException(Kind.COMPRESSED_ENTRY, fileName + ": entry '" + name + "' is encrypted");
                }
                if (method != METHOD_STORED) {
                    throw new TorchFormatException(Kind.COMPRESSED_ENTRY, fileName + ": entry '" + name
                            + "' uses compression method " + method + "; torch checkpoints store entries uncompressed"
                            + " (re-save with torch.save instead of re-zipping)");
                }
                if (csize != usize) {
                    throw bad("stored entry '" + name + "' has compressed size " + csize + " != size " + usize);
                }
                prefix = checkName(name, prefix);
                Entry e = readLocal(name, local, usize, crc);
                if (map.put(name, e) != null) {
                    throw new TorchFormatException(Kind.OVERLAPPING_ENTRIES, fileName + ": entry '" + name + "' appears twice");
                }
                p = next;
            }
            if (map.isEmpty()) {
                throw new TorchFormatException(Kind.MISSING_ENTRY, fileName + ": empty archive");
            }
            checkOverlaps(map, cdOffset);
            return new TorchZip(fileName, f, prefix, Collections.unmodifiableMap(map));
        }

        private long findEocd() {
            long min = Math.max(0, size - EOCD_SIZE - MAX_COMMENT);
            for (long p = size - EOCD_SIZE; p >= min; p--) {
                if (f.get(U32, p) == EOCD_SIG && p + EOCD_SIZE + u16(p + 20) == size) {
                    return p;
                }
            }
            throw bad("no end-of-central-directory record (truncated file?)");
        }

        /** Replaces 0xFFFFFFFF fields by their zip64 extra values, in the spec's order. */
        private long[] zip64(long extra, int extraLen, long usize, long csize, long local, String name) {
            long[] out = {usize, csize, local};
            boolean needs = usize == U32_MAX || csize == U32_MAX || local == U32_MAX;
            long end = extra + extraLen;
            long q = extra;
            while (needs && q + 4 <= end) {
                int id = u16(q);
                int len = u16(q + 2);
                if (q + 4 + len > end) {
                    break;
                }
                if (id == ZIP64_EXTRA_ID) {
                    long r = q + 4;
                    for (int k = 0; k < 3; k++) {
                        if (out[k] == U32_MAX) {
                            if (r + 8 > q + 4 + len) {
                                throw bad("entry '" + name + "' has a short zip64 extra field");
                            }
                            out[k] = f.get(U64, r);
                            if (out[k] < 0) {
                                throw new TorchFormatException(Kind.SIZE_LIMIT, fileName + ": entry '" + name
                                        + "' declares a zip64 value above 2^63");
                            }
                            r += 8;
                        }
                    }
                    return out;
                }
                q += 4 + len;
            }
            if (needs) {
                throw bad("entry '" + name + "' needs a zip64 extra field and has none");
            }
            return out;
        }

        private String checkName(String name, String prefix) {
            int slash = name.indexOf('/');
            boolean ok = slash > 0 && !name.startsWith("/") && name.indexOf('\\') < 0 && name.indexOf('\0') < 0
                    && !name.contains(":");
            if (ok) {
                for (String seg : name.split("/", -1)) {
                    if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                        ok = false;
                        break;
                    }
                }
            }
            if (!ok) {
                throw new TorchFormatException(Kind.BAD_ENTRY_NAME, fileName + ": entry name '" + name
                        + "' is not a plain path inside the archive folder");
            }
            String first = name.substring(0, slash);
            if (prefix != null && !prefix.equals(first)) {
                throw new TorchFormatException(Kind.BAD_ENTRY_NAME, fileName + ": entry '" + name
                        + "' is outside the archive folder '" + prefix + "/'");
            }
            return first;
        }

        private String utf8(long off, int len) {
            if (len > MAX_NAME_BYTES) {
                throw new TorchFormatException(Kind.SIZE_LIMIT, fileName + ": entry name of " + len
                        + " bytes, limit " + MAX_NAME_BYTES);
            }
            byte[] b = f.asSlice(off, len).toArray(ValueLayout.JAVA_BYTE);
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw new TorchFormatException(Kind.BAD_ENTRY_NAME, fileName + ": entry name at " + off + " is not UTF-8");
            }
        }

        private Entry readLocal(String name, long local, long usize, int crc) {
            if (local < 0 || local > size - LOCAL_SIZE || f.get(U32, local) != LOCAL_SIG) {
                throw bad("entry '" + name + "' has no local header at " + local);
            }
            int nameLen = u16(local + 26);
            int extraLen = u16(local + 28);
            long nameOff = local + LOCAL_SIZE;
            if (nameOff + nameLen + extraLen > size) {
                throw bad("local header of '" + name + "' runs past the end of the file");
            }
            String localName = utf8(nameOff, nameLen);
            if (!localName.equals(name)) {
                throw bad("local header at " + local + " names '" + localName + "', directory says '" + name + "'");
            }
            if (u16(local + 8) != METHOD_STORED) {
                throw new TorchFormatException(Kind.COMPRESSED_ENTRY, fileName + ": local header of '" + name + "' is compressed");
            }
            long data = nameOff + nameLen + extraLen;
            if (usize > size - data) {
                throw new TorchFormatException(Kind.SIZE_LIMIT, fileName + ": entry '" + name + "' declares " + usize
                        + " bytes at offset " + data + ", the file has only " + size);
            }
            return new Entry(name, local, data, usize, crc);
        }

        private void checkOverlaps(Map<String, Entry> map, long cdOffset) {
            List<Entry> sorted = new ArrayList<>(map.values());
            sorted.sort(Comparator.comparingLong(Entry::localHeaderOffset));
            long end = 0;
            String prev = null;
            for (Entry e : sorted) {
                if (e.localHeaderOffset() < end) {
                    throw new TorchFormatException(Kind.OVERLAPPING_ENTRIES, fileName + ": entry '" + e.name()
                            + "' at " + e.localHeaderOffset() + " overlaps entry '" + prev + "' ending at " + end);
                }
                end = e.dataOffset() + e.size();
                prev = e.name();
            }
            if (end > cdOffset) {
                throw new TorchFormatException(Kind.OVERLAPPING_ENTRIES, fileName + ": entry '" + prev
                        + "' ends at " + end + ", inside the central directory at " + cdOffset);
            }
        }
    }
}
