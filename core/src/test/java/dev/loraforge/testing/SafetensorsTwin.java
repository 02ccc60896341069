package dev.loraforge.testing;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal safetensors reader for the twin comparisons only (the library's reader lives on another
 * branch): header JSON + raw bytes, tensors in file order.
 */
public final class SafetensorsTwin {
    public record Tensor(String dtype, long[] shape, byte[] data) {
    }

    private SafetensorsTwin() {
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Tensor> read(byte[] file) throws IOException {
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Map<String, Object> header = JSON.std.mapFrom(new String(file, 8, (int) n, StandardCharsets.UTF_8));
        header.remove("__metadata__");
        List<Map.Entry<String, Object>> entries = new java.util.ArrayList<>(header.entrySet());
        entries.sort((a, b) -> Long.compare(offsets(a.getValue())[0], offsets(b.getValue())[0]));
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : entries) {
            Map<String, Object> info = (Map<String, Object>) e.getValue();
            long[] off = offsets(info);
            long[] shape = ((List<Object>) info.get("shape")).stream().mapToLong(o -> ((Number) o).longValue()).toArray();
            out.put(e.getKey(), new Tensor((String) info.get("dtype"), shape,
                    Arrays.copyOfRange(file, (int) (8 + n + off[0]), (int) (8 + n + off[1]))));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static long[] offsets(Object info) {
        List<Object> l = (List<Object>) ((Map<String, Object>) info).get("data_offsets");
        return new long[] {((Number) l.get(0)).longValue(), ((Number) l.get(1)).longValue()};
    }

    public static byte[] resource(String path) throws IOException {
        try (InputStream in = SafetensorsTwin.class.getResourceAsStream("/fixtures/" + path)) {
            if (in == null) {
                throw new IOException("missing test resource fixtures/" + path);
            }
            return in.readAllBytes();
        }
    }
}
