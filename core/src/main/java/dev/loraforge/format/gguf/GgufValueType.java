package dev.loraforge.format.gguf;

import java.util.Optional;

/** Metadata value types of GGUF (gguf.h {@code enum gguf_type}), with their ids and fixed byte sizes. */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    /** uint64 byte length + UTF-8 bytes, no terminator. */
    STRING(8, 0),
    /** uint32 element type + uint64 count + elements. */
    ARRAY(9, 0),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    private static final GgufValueType[] BY_ID = values();

    static {
        for (int i = 0; i < BY_ID.length; i++) {
            if (BY_ID[i].id != i) {
                throw new AssertionError("GgufValueType ids must be dense: " + BY_ID[i]);
            }
        }
    }

    private final int id;
    private final int size;

    GgufValueType(int id, int size) {
        this.id = id;
        this.size = size;
    }

    public int id() {
        return id;
    }

    /** Bytes of one value; 0 for STRING and ARRAY, whose size depends on the value. */
    public int size() {
        return size;
    }

    /** True for the types stored in a fixed number of bytes (numbers and BOOL). */
    public boolean isFixedSize() {
        return size > 0;
    }

    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    public boolean isSigned() {
        return this == INT8 || this == INT16 || this == INT32 || this == INT64;
    }

    public boolean isFloat() {
        return this == FLOAT32 || this == FLOAT64;
    }

    /** The type with this id; empty for anything else (ids are read as unsigned 32-bit). */
    public static Optional<GgufValueType> fromId(long id) {
        if (id < 0 || id >= BY_ID.length) {
            return Optional.empty();
        }
        return Optional.of(BY_ID[(int) id]);
    }
}
