package dev.loraforge.format.safetensors;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Hand-built safetensors bytes for tests, independent of the writer under test. */
final class StBytes {
    private StBytes() {
    }

    /** 8-byte length + JSON (padded with spaces to a multiple of 8) + {@code dataBytes} bytes 0,1,2,... */
    static byte[] file(String json, int dataBytes) {
        byte[] j = json.getBytes(StandardCharsets.UTF_8);
        int padded = (j.length + 7) / 8 * 8;
        return raw(padded, j, padded - j.length, dataBytes);
    }

    /** Length prefix {@code n} (anything), then {@code json}, {@code pad} spaces and {@code dataBytes} bytes. */
    static byte[] raw(long n, byte[] json, int pad, int dataBytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array());
        out.writeBytes(json);
        for (int i = 0; i < pad; i++) {
            out.write(' ');
        }
        for (int i = 0; i < dataBytes; i++) {
            out.write(i);
        }
        return out.toByteArray();
    }

    static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":["
                + begin + "," + end + "]}";
    }
}
