package dev.loraforge.model;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.loraforge.format.safetensors.SafetensorsFile;
import dev.loraforge.tensor.TensorSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
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
        return LlamaModel.load(config("tinystories-260k"), safetensors(weights));
    }

    static Path path(String path) {
        try {
            var url = Fixtures.class.getResource("/fixtures/" + path);
            if (url == null) {
                throw new IllegalStateException("no test resource fixtures/" + path);
            }
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Opened once per test JVM and never closed: the mappings are shared by every test. */
    static TensorSource safetensors(String path) {
        return OPEN.computeIfAbsent(path, p -> {
            try {
                return SafetensorsFile.open(path(p));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static final Map<String, TensorSource> OPEN = new ConcurrentHashMap<>();
}
