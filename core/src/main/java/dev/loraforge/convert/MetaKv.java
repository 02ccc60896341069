package dev.loraforge.convert;

import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata pair as a converter decides it: key, type and value, in the order it is written.
 * Scalars: {@code Long} for integers (unsigned values as their numeric value), {@code Float}/{@code Double}
 * for FLOAT32/FLOAT64, {@code Boolean}, {@code String}. Arrays: a {@code List} of such values with
 * {@code elementType}; strings are UTF-8 in the file. Token lists are {@code List<byte[]>} so that pieces
 * that are not valid UTF-8 survive unchanged.
 */
public record MetaKv(String key, KvType type, KvType elementType, Object value) {

    public MetaKv {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if ((type == KvType.ARRAY) != (elementType != null)) {
            throw new IllegalArgumentException("key '" + key + "': element type only for arrays");
        }
        if (type == KvType.ARRAY && !(value instanceof List<?>)) {
            throw new IllegalArgumentException("key '" + key + "': array value must be a List");
        }
    }

    public static MetaKv string(String key, String value) {
        return new MetaKv(key, KvType.STRING, null, value);
    }

    public static MetaKv u32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("key '" + key + "': " + value + " does not fit UINT32");
        }
        return new MetaKv(key, KvType.UINT32, null, value);
    }

    public static MetaKv i32(String key, long value) {
        return new MetaKv(key, KvType.INT32, null, Math.toIntExact(value) + 0L);
    }

    public static MetaKv f32(String key, double value) {
        // gguf-py packs a Python float with struct '<f': round to nearest float32
        return new MetaKv(key, KvType.FLOAT32, null, (float) value);
    }

    public static MetaKv bool(String key, boolean value) {
        return new MetaKv(key, KvType.BOOL, null, value);
    }

    public static MetaKv array(String key, KvType elementType, List<?> values) {
        return new MetaKv(key, KvType.ARRAY, elementType, List.copyOf(values));
    }

    @Override
    public String toString() {
        Object shown = value instanceof List<?> l ? "[" + l.size() + " × " + elementType + "]" : value;
        return key + " " + type + " " + shown;
    }
}
