package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Oracle: bytes written by llama-quantize (llama.cpp 3f545bec) for rows of tiny-llama-v512, and the
 * sha256 of whole tensors from the fixture listings (see fixtures/quant/index.tsv).
 */
class QuantFixtureTest {
    private static final String BASE = "/fixtures/quant/";

    record Vector(String gguf, String tensor, GgmlType type, int rows, int cols, String input, String expected,
                  String sha256, String dequantSha256) {
        @Override
        public String toString() {
            return type + " " + tensor + " x" + rows + " (" + gguf + ")";
        }
    }

    private static final Map<String, byte[]> CACHE = new ConcurrentHashMap<>();

    static List<Vector> vectors() {
        List<Vector> out = new ArrayList<>();
        String index = new String(resource("index.tsv"), StandardCharsets.UTF_8);
        for (String line : index.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t");
            out.add(new Vector(f[0], f[1], GgmlType.valueOf(f[2]), Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                    f[5], f[6], f[7], f.length > 8 ? f[8] : "-"));
        }
        return out;
    }

    static Stream<Arguments> cases() {
        return vectors().stream().flatMap(v -> Stream.of(Arguments.of(v, false), Arguments.of(v, true)));
    }

    static byte[] resource(String name) {
        try (InputStream in = QuantFixtureTest.class.getResourceAsStream(BASE + name)) {
            assertThat(in).as("test resource %s", name).isNotNull();
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] bf16Input(String name) {
        byte[] raw = CACHE.computeIfAbsent(name, QuantFixtureTest::resource);
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] x = new float[raw.length / 2];
        for (int i = 0; i < x.length; i++) {
            x[i] = Float.intBitsToFloat((bb.getShort(2 * i) & 0xFFFF) << 16);
        }
        return x;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] quantizeRows(GgmlCodec codec, float[] x, int rows, int cols) {
        long rowBytes = codec.type().rowSize(cols);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(rowBytes * rows);
            for (int r = 0; r < rows; r++) { // llama-quantize works row by row; blocks never span rows
                codec.quantize(x, r * cols, cols, seg, r * rowBytes);
            }
            return seg.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    @ParameterizedTest(name = "{0} vector={1}")
    @MethodSource("cases")
    void quantizeMatchesLlamaQuantize(Vector v, boolean vector) {
        GgmlCodec codec = GgmlCodec.of(v.type(), vector);
        float[] x = bf16Input(v.input());
        assertThat(x).as("input rows").isNotEmpty();
        assertThat(x).hasSize(v.rows() * v.cols());
        byte[] got = quantizeRows(codec, x, v.rows(), v.cols());
        if (!v.expected().equals("-")) {
            byte[] want = resource(v.expected());
            assertThat(got.length).isEqualTo(want.length);
            int first = firstDifference(got, want);
            assertThat(first).as("first differing byte (block %d)", first / v.type().typeSize()).isEqualTo(-1);
        }
        if (!v.sha256().equals("-")) {
            assertThat(sha256(got)).as("sha256 of the whole tensor vs the fixture listing").isEqualTo(v.sha256());
        }
    }

    @ParameterizedTest(name = "{0} vector={1}")
    @MethodSource("cases")
    void dequantizeMatchesReference(Vector v, boolean vector) {
        if (v.expected().equals("-") || v.dequantSha256().equals("-")) {
            return;
        }
        GgmlCodec codec = GgmlCodec.of(v.type(), vector);
        byte[] want = resource(v.expected());
        float[] y = new float[v.rows() * v.cols()];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(want.length);
            MemorySegment.copy(want, 0, seg, ValueLayout.JAVA_BYTE, 0, want.length);
            codec.dequantize(seg, 0, y, 0, y.length);
        }
        ByteBuffer bb = ByteBuffer.allocate(4 * y.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : y) {
            bb.putFloat(f);
        }
        assertThat(sha256(bb.array())).as("sha256 of the dequantized float32 values").isEqualTo(v.dequantSha256());
    }

    @Test
    void parallelRowsGiveTheSameBytes() {
        Vector v = vectors().stream().filter(x -> x.type() == GgmlType.Q4_K && x.sha256().length() == 64).findFirst().orElseThrow();
        float[] x = bf16Input(v.input());
        GgmlCodec codec = GgmlCodec.of(GgmlType.Q4_K);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(codec.type().rowSize(v.cols()) * v.rows() + 8);
            codec.quantizeRows(x, 0, v.rows(), v.cols(), seg, 8, true);
            byte[] got = seg.asSlice(8).toArray(ValueLayout.JAVA_BYTE);
            assertThat(sha256(got)).isEqualTo(v.sha256());
        }
    }

    private static int firstDifference(byte[] a, byte[] b) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return -1;
    }
}
