package dev.loraforge.format.torch;

import dev.loraforge.format.torch.Pickled.Global;
import dev.loraforge.format.torch.Pickled.StorageRef;
import dev.loraforge.format.torch.Pickled.Tuple;
import dev.loraforge.format.torch.TorchFormatException.Kind;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * torch's pre-1.6 format ({@code _use_new_zipfile_serialization=False}): five pickles in a row (magic
 * number, protocol version 1001, system info, the object with storage persistent ids, the sorted storage
 * keys), then each storage as an int64 element count and its raw bytes. Every pickle goes through the
 * same restricted {@link Unpickler}; storages are zero-copy slices of the mapped file.
 */
final class TorchLegacyFormat {
    static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    static final long PROTOCOL_VERSION = 1001;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TorchLegacyFormat() {
    }

    record Read(Object root, Map<String, MemorySegment> storageBytes) {
    }

    /** A pickle PROTO opcode at byte 0, as the magic-number pickle starts. */
    static boolean looksLikeLegacy(MemorySegment f) {
        return f.byteSize() >= 2 && (f.get(ValueLayout.JAVA_BYTE, 0) & 0xFF) == 0x80;
    }

    static Read read(MemorySegment file, String fileName) {
        Function<Tuple, Object> noIds = pid -> {
            throw new TorchFormatException(Kind.BAD_PICKLE, fileName + ": persistent id outside the state dict");
        };
        Unpickler.Loaded magic = Unpickler.loadAt(file, 0, fileName + " (magic number)", noIds);
        if (!(magic.value() instanceof BigInteger m && m.equals(MAGIC))) {
            throw new TorchFormatException(Kind.NOT_ZIP, fileName + ": neither a zip checkpoint nor torch's legacy format"
                    + " (no magic number)");
        }
        Unpickler.Loaded version = Unpickler.loadAt(file, magic.end(), fileName + " (protocol version)", noIds);
        if (!Long.valueOf(PROTOCOL_VERSION).equals(version.value())) {
            throw new TorchFormatException(Kind.UNSUPPORTED, fileName + ": legacy protocol version " + version.value()
                    + ", expected " + PROTOCOL_VERSION);
        }
        Unpickler.Loaded sys = Unpickler.loadAt(file, version.end(), fileName + " (sys_info)", noIds);
        if (!(sys.value() instanceof Map<?, ?> info) || !Boolean.TRUE.equals(info.get("little_endian"))) {
            throw new TorchFormatException(Kind.UNSUPPORTED, fileName + ": sys_info does not say little_endian=True");
        }
        Map<String, StorageRef> storages = new LinkedHashMap<>();
        String where = fileName;
        Unpickler.Loaded main = Unpickler.loadAt(file, sys.end(), where, pid -> storage(pid, storages, where));
        Unpickler.Loaded keys = Unpickler.loadAt(file, main.end(), fileName + " (storage keys)", noIds);
        if (!(keys.value() instanceof List<?> keyList) || !new HashSet<>(keyList).equals(storages.keySet())
                || keyList.size() != storages.size()) {
            throw new TorchFormatException(Kind.MISSING_ENTRY, fileName + ": storage key list " + keys.value()
                    + " does not match the storages the pickle names " + storages.keySet());
        }
        Map<String, MemorySegment> bytes = new LinkedHashMap<>();
        long p = keys.end();
        for (Object k : keyList) {
            StorageRef ref = storages.get((String) k);
            if (file.byteSize() - p < 8) {
                throw new TorchFormatException(Kind.SIZE_LIMIT, fileName + ": file ends before storage '" + k + "'");
            }
            long numel = file.get(I64, p);
            if (numel != ref.numel()) {
                throw new TorchFormatException(Kind.BAD_TENSOR, fileName + ": storage '" + k + "' has " + numel
                        + " elements in the file, the pickle says " + ref.numel());
            }
            long size = ref.type().dtype().byteCount(numel);
            if (size > file.byteSize() - p - 8) {
                throw new TorchFormatException(Kind.SIZE_LIMIT, fileName + ": storage '" + k + "' declares " + size
                        + " bytes at offset " + (p + 8) + ", the file has " + file.byteSize());
            }
            bytes.put((String) k, file.asSlice(p + 8, size));
            p += 8 + size;
        }
        if (p != file.byteSize()) {
            throw new TorchFormatException(Kind.BAD_TENSOR, fileName + ": " + (file.byteSize() - p)
                    + " bytes after the last storage");
        }
        return new Read(main.value(), bytes);
    }

    /** {@code ('storage', torch.<T>Storage, key, location, numel, view_metadata=None)}. */
    private static StorageRef storage(Tuple pid, Map<String, StorageRef> storages, String where) {
        if (pid.size() != 6 || !"storage".equals(pid.get(0)) || !(pid.get(1) instanceof Global type)
                || !(pid.get(2) instanceof String key) || !(pid.get(3) instanceof String location)
                || !(pid.get(4) instanceof Long numel) || numel < 0) {
            throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where
                    + ": persistent id is not ('storage', type, key, location, numel, view): " + pid.items());
        }
        if (pid.get(5) != null) {
            throw new TorchFormatException(Kind.UNSUPPORTED, "pickle in " + where + ": storage views of the pre-1.0 format");
        }
        TorchStorageType st = TorchStorageType.byName(type.name()).filter(x -> type.module().equals("torch"))
                .orElseThrow(() -> new TorchFormatException(Kind.UNSUPPORTED, "pickle in " + where
                        + ": storage type " + type + " is not supported"));
        StorageRef ref = new StorageRef(st, key, location, numel);
        StorageRef known = storages.putIfAbsent(key, ref);
        if (known != null && !known.equals(ref)) {
            throw new TorchFormatException(Kind.BAD_TENSOR, "pickle in " + where + ": storage '" + key + "' declared twice"
                    + " differently");
        }
        return known != null ? known : ref;
    }
}
