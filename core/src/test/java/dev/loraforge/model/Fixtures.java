package dev.loraforge.model;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Reads the test resources under {@code fixtures/} (copied from the shared fixture set). */
final class Fixtures {

    private Fixtures() {
    }

    static byte[] bytes(String path) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/fixtures/" + path)) {
            if (in == null) {
                throw new IllegalStateException("no test resource fixtures/" + path);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String text(String path) {
        return new String(bytes(path), StandardCharsets.UTF_8);
    }

    static Map<String, Object> json(String path) {
        try {
            return JSON.std.mapFrom(text(path));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static float[] f32(String path) {
        ByteBuffer b = ByteBuffer.wrap(bytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    static int[] i32(String path) {
        ByteBuffer b = ByteBuffer.wrap(bytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }

    static double[] doubles(Object list) {
        return ((List<?>) list).stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
    }

    static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }

    static LlamaConfig config(String dir) {
        return LlamaConfig.parse(text(dir + "/config.json"));
    }

    static LlamaModel stories(String weights) {
        return LlamaModel.load(config("tinystories-260k"), TestSafetensors.resource(weights));
    }
}
