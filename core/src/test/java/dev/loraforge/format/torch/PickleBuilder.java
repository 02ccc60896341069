package dev.loraforge.format.torch;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Writes pickle opcodes byte by byte (protocol 2 and 4 forms), to build hostile and edge-case pickles. */
final class PickleBuilder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PickleBuilder proto(int v) {
        return op(0x80).raw(v);
    }

    PickleBuilder op(int code) {
        out.write(code);
        return this;
    }

    PickleBuilder raw(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    PickleBuilder global(String module, String name) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        return this;
    }

    PickleBuilder str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X').i32(b.length);
        out.writeBytes(b);
        return this;
    }

    PickleBuilder shortStr(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op(0x8c).raw(b.length);
        out.writeBytes(b);
        return this;
    }

    PickleBuilder i32(int v) {
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
        return this;
    }

    PickleBuilder i64(long v) {
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        return this;
    }

    PickleBuilder int1(int v) {
        return op('K').raw(v);
    }

    PickleBuilder mark() {
        return op('(');
    }

    PickleBuilder tuple() {
        return op('t');
    }

    PickleBuilder tuple1() {
        return op(0x85);
    }

    PickleBuilder reduce() {
        return op('R');
    }

    PickleBuilder stop() {
        return op('.');
    }

    /** {@code module.name(arg)} as {@code __reduce__} would write it. */
    PickleBuilder call(String module, String name, String arg) {
        return global(module, name).str(arg).tuple1().reduce();
    }

    /** A ({@code 'storage', torch.<type>, key, 'cpu', numel}) persistent id, then BINPERSID. */
    PickleBuilder storage(String type, String key, int numel) {
        return mark().str("storage").global("torch", type).str(key).str("cpu").op('J').i32(numel).tuple().op('Q');
    }

    /** {@code _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}, 1-D. */
    PickleBuilder tensor1d(String type, String key, int numel, int offset, int size, int stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(type, key, numel).op('J').i32(offset).op('J').i32(size).tuple1().op('J').i32(stride).tuple1();
        return op(0x89).global("collections", "OrderedDict").op(')').reduce().tuple().reduce();
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    /** A torch-style zip: {@code archive/data.pkl}, then {@code archive/data/<key>} for each storage. */
    static byte[] torchZip(byte[] pickle, Object... keysAndData) {
        ZipBuilder z = new ZipBuilder();
        z.add("archive/data.pkl", pickle);
        for (int i = 0; i < keysAndData.length; i += 2) {
            z.add("archive/data/" + keysAndData[i], (byte[]) keysAndData[i + 1]);
        }
        z.add("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return z.build();
    }
}
