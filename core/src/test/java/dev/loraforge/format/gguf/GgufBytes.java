package dev.loraforge.format.gguf;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Hand-assembled GGUF bytes for the corrupt-file tests, written byte by byte from the format description
 * (not with {@link GgufWriter}) so that every field can be made wrong. The default is a valid v3 file with
 * two KV pairs and two tensors: 'a' F32 [8, 2] at 0 and 'b' F16 [32] at 64, 128 data bytes.
 */
final class GgufBytes {
    /** Little-endian byte sink. */
    static final class Out {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();

        Out u8(int v) {
            b.write(v);
            return this;
        }

        Out u32(long v) {
            for (int i = 0; i < 4; i++) {
                b.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Out u64(long v) {
            for (int i = 0; i < 8; i++) {
                b.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Out raw(byte[] bytes) {
            b.writeBytes(bytes);
            return this;
        }

        Out str(String s) {
            byte[] x = s.getBytes(StandardCharsets.UTF_8);
            return u64(x.length).raw(x);
        }

        int size() {
            return b.size();
        }
    }

    record Tensor(String name, long[] dims, long type, long offset) {
    }

    byte[] magic = "GGUF".getBytes(StandardCharsets.US_ASCII);
    long version = 3;
    boolean bigEndianVersion;
    Long nTensors;
    Long nKv;
    final List<Consumer<Out>> kvs = new ArrayList<>();
    final List<Tensor> tensors = new ArrayList<>();
    int alignment = 32;
    long dataBytes = 128;
    Integer truncateTo;

    GgufBytes() {
        kvs.add(kvString("general.architecture", "llama"));
        kvs.add(o -> o.str("general.alignment").u32(GgufValueType.UINT32.id()).u32(32));
        tensors.add(new Tensor("a", new long[] {8, 2}, GgmlType.F32.id(), 0));
        tensors.add(new Tensor("b", new long[] {32}, GgmlType.F16.id(), 64));
    }

    static Consumer<Out> kvString(String key, String value) {
        return o -> o.str(key).u32(GgufValueType.STRING.id()).str(value);
    }

    static Consumer<Out> kvU32(String key, long value) {
        return o -> o.str(key).u32(GgufValueType.UINT32.id()).u32(value);
    }

    void tensor(int i, Tensor t) {
        tensors.set(i, t);
    }

    byte[] build() {
        Out o = new Out();
        o.raw(magic);
        if (bigEndianVersion) {
            o.u8((int) (version >>> 24)).u8((int) (version >>> 16)).u8((int) (version >>> 8)).u8((int) version);
        } else {
            o.u32(version);
        }
        o.u64(nTensors != null ? nTensors : tensors.size());
        o.u64(nKv != null ? nKv : kvs.size());
        for (Consumer<Out> kv : kvs) {
            kv.accept(o);
        }
        for (Tensor t : tensors) {
            o.str(t.name()).u32(t.dims().length);
            for (long d : t.dims()) {
                o.u64(d);
            }
            o.u32(t.type()).u64(t.offset());
        }
        if (!tensors.isEmpty()) {
            while (o.size() % alignment != 0) {
                o.u8(0);
            }
            for (long i = 0; i < dataBytes; i++) {
                o.u8((int) i);
            }
        }
        byte[] bytes = o.b.toByteArray();
        if (truncateTo != null) {
            return java.util.Arrays.copyOf(bytes, truncateTo);
        }
        return bytes;
    }
}
