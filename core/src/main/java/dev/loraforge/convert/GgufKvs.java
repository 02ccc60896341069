package dev.loraforge.convert;

import dev.loraforge.format.gguf.GgufKv;
import dev.loraforge.format.gguf.GgufValue;
import dev.loraforge.format.gguf.GgufValueType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Turns the converter's {@link MetaKv} decisions into the GGUF format's typed values. */
public final class GgufKvs {
    private GgufKvs() {
    }

    public static List<GgufKv> of(List<MetaKv> kvs) {
        List<GgufKv> out = new ArrayList<>(kvs.size());
        for (MetaKv kv : kvs) {
            out.add(kv(kv));
        }
        return out;
    }

    static GgufValue value(KvType type, Object v) {
        GgufValueType t = GgufValueType.valueOf(type.name());
        return switch (type) {
            case STRING -> new GgufValue.Str(v instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : (String) v);
            case BOOL -> new GgufValue.Scalar(t, ((Boolean) v) ? 1 : 0);
            case FLOAT32 -> new GgufValue.Scalar(t, Integer.toUnsignedLong(Float.floatToRawIntBits(((Number) v).floatValue())));
            case FLOAT64 -> new GgufValue.Scalar(t, Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case ARRAY -> throw new IllegalArgumentException("nested arrays are built by array()");
            default -> {
                long x = ((Number) v).longValue();
                int width = t.size() * 8;
                yield new GgufValue.Scalar(t, width == 64 ? x : x & ((1L << width) - 1));
            }
        };
    }

    private static GgufValue value(KvType type, Object v, KvType elementType) {
        if (type != KvType.ARRAY) {
            return value(type, v);
        }
        List<?> items = (List<?>) v;
        List<GgufValue> out = new ArrayList<>(items.size());
        for (Object o : items) {
            out.add(value(elementType, o));
        }
        return new GgufValue.Array(GgufValueType.valueOf(elementType.name()), out);
    }

    static GgufKv kv(MetaKv kv) {
        return new GgufKv(kv.key(), value(kv.type(), kv.value(), kv.elementType()));
    }
}
