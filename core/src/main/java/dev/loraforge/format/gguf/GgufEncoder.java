package dev.loraforge.format.gguf;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Little-endian GGUF encoding of header parts into a growing byte array (used by the writer). */
final class GgufEncoder {
    private byte[] buf = new byte[4096];
    private int len;

    int size() {
        return len;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }

    void u8(int v) {
        ensure(1);
        buf[len++] = (byte) v;
    }

    void u32(long v) {
        ensure(4);
        for (int i = 0; i < 4; i++) {
            buf[len++] = (byte) (v >>> (8 * i));
        }
    }

    void u64(long v) {
        ensure(8);
        for (int i = 0; i < 8; i++) {
            buf[len++] = (byte) (v >>> (8 * i));
        }
    }

    void string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        ensure(b.length);
        System.arraycopy(b, 0, buf, len, b.length);
        len += b.length;
    }

    void zeros(int n) {
        ensure(n);
        len += n; // the array is zero beyond len
    }

    /** A KV pair: key, type id, then the value. */
    void kv(GgufKv kv) {
        string(kv.key());
        u32(kv.value().type().id());
        value(kv.value());
    }

    /** A value without its type id: the form array elements take. */
    void value(GgufValue v) {
        switch (v) {
            case GgufValue.Scalar s -> {
                long bits = s.bits();
                for (int i = 0; i < s.type().size(); i++) {
                    u8((int) (bits >>> (8 * i)));
                }
            }
            case GgufValue.Str s -> string(s.value());
            case GgufValue.Array a -> {
                u32(a.elementType().id());
                u64(a.size());
                for (GgufValue item : a.items()) {
                    value(item);
                }
            }
        }
    }

    /** A tensor info: name, n_dims, dims (ggml order), type id, offset. */
    void tensorInfo(GgufTensorInfo t) {
        string(t.name());
        u32(t.rank());
        for (long d : t.dims()) {
            u64(d);
        }
        u32(t.type().id());
        u64(t.offset());
    }

    private void ensure(int n) {
        int need = Math.addExact(len, n);
        if (need > buf.length) {
            if (need > Integer.MAX_VALUE - 16) {
                throw new IllegalStateException("GGUF header over 2 GiB");
            }
            buf = Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 16L, Math.max(need, 2L * buf.length)));
        }
    }
}
