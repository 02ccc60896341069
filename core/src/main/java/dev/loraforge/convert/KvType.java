package dev.loraforge.convert;

/** GGUF metadata value types, named as in gguf.h (the ids are the file's type codes). */
public enum KvType {
    UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7), STRING(8),
    ARRAY(9), UINT64(10), INT64(11), FLOAT64(12);

    private final int id;

    KvType(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }
}
