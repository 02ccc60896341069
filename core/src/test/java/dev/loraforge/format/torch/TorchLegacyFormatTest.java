package dev.loraforge.format.torch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.format.torch.TorchFormatException.Kind;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** torch's pre-1.6 format built byte by byte: one valid file, and one broken file per rule. */
class TorchLegacyFormatTest {

    /**
     * magic, version, sys_info, {'w': tensor of storage 'k' (FloatStorage, numel)}, [keys...], then for each
     * stored key an int64 count and count floats; {@code extra} bytes are appended at the end.
     */
    static byte[] legacy(int version, boolean littleEndian, int numel, String[] keys, long storedCount, int storedFloats,
            int extra) {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.writeBytes(new PickleBuilder().proto(2).op(0x8a).raw(10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)
                .stop().bytes());
        f.writeBytes(new PickleBuilder().proto(2).op('M').raw(version & 0xFF, version >> 8).stop().bytes());
        f.writeBytes(new PickleBuilder().proto(2).op('}').str("little_endian").op(littleEndian ? 0x88 : 0x89).op('s')
                .stop().bytes());
        PickleBuilder main = new PickleBuilder().proto(2).op('}').str("w")
                .global("torch._utils", "_rebuild_tensor_v2").mark()
                .mark().str("storage").global("torch", "FloatStorage").str("k").str("cpu").op('J').i32(numel).op('N')
                .tuple().op('Q')
                .op('J').i32(0).op('J').i32(numel).tuple1().op('J').i32(1).tuple1()
                .op(0x89).global("collections", "OrderedDict").op(')').reduce().tuple().reduce().op('s').stop();
        f.writeBytes(main.bytes());
        PickleBuilder list = new PickleBuilder().proto(2).op(']').mark();
        for (String k : keys) {
            list.str(k);
        }
        f.writeBytes(list.op('e').stop().bytes());
        ByteBuffer b = ByteBuffer.allocate(8 + 4 * storedFloats + extra).order(ByteOrder.LITTLE_ENDIAN).putLong(storedCount);
        for (int i = 0; i < storedFloats; i++) {
            b.putFloat(i + 0.25f);
        }
        f.writeBytes(b.array());
        return f.toByteArray();
    }

    private static TorchFile read(byte[] b) {
        return TorchFile.read(MemorySegment.ofArray(b), "legacy.bin", Arena.ofConfined());
    }

    @Test
    void wellFormedLegacyFileReads() {
        try (TorchFile f = read(legacy(1001, true, 3, new String[] {"k"}, 3, 3, 0))) {
            assertThat(f.names()).containsExactly("w");
            assertThat(f.get("w").toFloatArray()).containsExactly(0.25f, 1.25f, 2.25f);
            assertThat(f.zip()).isEmpty();
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "1000|true|3|k|3|3|0|UNSUPPORTED|legacy protocol version 1000",
        "1001|false|3|k|3|3|0|UNSUPPORTED|little_endian",
        "1001|true|3|other|3|3|0|MISSING_ENTRY|does not match the storages",
        "1001|true|3|k|4|3|0|BAD_TENSOR|has 4 elements in the file, the pickle says 3",
        "1001|true|3|k|3|2|0|SIZE_LIMIT|declares 12 bytes",
        "1001|true|3|k|3|3|5|BAD_TENSOR|5 bytes after the last storage"})
    void brokenLegacyFileIsRejected(int version, boolean le, int numel, String key, long count, int floats, int extra,
            Kind kind, String message) {
        try {
            read(legacy(version, le, numel, new String[] {key}, count, floats, extra)).close();
        } catch (TorchFormatException e) {
            assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind);
            assertThat(e).hasMessageContaining("legacy.bin").hasMessageContaining(message);
            return;
        }
        throw new AssertionError("accepted");
    }
}
