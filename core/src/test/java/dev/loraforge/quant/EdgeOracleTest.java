package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Oracle: llama.cpp's compiled reference quantizers (libggml-base of @node-llama-cpp/linux-x64 3.22.1, see
 * fixtures/quant/make_edge_fixtures.py) on rows that reach the special paths: zero and constant groups,
 * subnormal scales, outliers, ±FLT_MAX, NaN/inf, ties.
 */
class EdgeOracleTest {
    private static final int N = 512;
    private static final Map<String, byte[]> CACHE = new ConcurrentHashMap<>();

    private static byte[] cached(String name) {
        return CACHE.computeIfAbsent(name, QuantFixtureTest::resource);
    }

    record Row(int index, String label) {
        @Override
        public String toString() {
            return index + " " + label;
        }
    }

    static List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        for (String line : new String(QuantFixtureTest.resource("edge/rows.tsv"), StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String[] f = line.split("\t");
                rows.add(new Row(Integer.parseInt(f[0]), f[1]));
            }
        }
        return rows;
    }

    static float[] input(int row) {
        byte[] raw = cached("edge/inputs.f32");
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] x = new float[N];
        for (int i = 0; i < N; i++) {
            x[i] = bb.getFloat(4 * (row * N + i));
        }
        return x;
    }

    static List<GgmlType> types() {
        return CodecPairTest.ALL.stream().filter(t -> t != GgmlType.F32).toList();
    }

    @ParameterizedTest(name = "{0} vector={1}")
    @MethodSource("typeCases")
    void quantizeMatchesLibggml(GgmlType type, boolean vector) {
        byte[] all = cached("edge/" + type.name().toLowerCase() + ".bin");
        int rowBytes = (int) type.rowSize(N);
        SoftAssertions soft = new SoftAssertions();
        for (Row row : rows()) {
            byte[] got = CodecPairTest.quantize(GgmlCodec.of(type, vector), input(row.index()));
            byte[] want = Arrays.copyOfRange(all, row.index() * rowBytes, (row.index() + 1) * rowBytes);
            soft.assertThat(got).as("row %s", row).isEqualTo(want);
        }
        soft.assertAll();
    }

    static Stream<Arguments> typeCases() {
        return types().stream().flatMap(t -> Stream.of(Arguments.of(t, false), Arguments.of(t, true)));
    }

    @ParameterizedTest(name = "{0} vector={1}")
    @MethodSource("typeCases")
    void dequantizeMatchesLibggml(GgmlType type, boolean vector) {
        String want = null;
        for (String line : new String(QuantFixtureTest.resource("edge/index.tsv"), StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith(type.name() + "\t")) {
                want = line.split("\t")[2];
            }
        }
        assertThat(want).isNotNull();
        byte[] all = QuantFixtureTest.resource("edge/" + type.name().toLowerCase() + ".bin");
        float[] y = new float[all.length / type.typeSize() * type.blockSize()];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(all.length);
            MemorySegment.copy(all, 0, seg, ValueLayout.JAVA_BYTE, 0, all.length);
            GgmlCodec.of(type, vector).dequantize(seg, 0, y, 0, y.length);
        }
        ByteBuffer bb = ByteBuffer.allocate(4 * y.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : y) {
            bb.putInt(Float.floatToRawIntBits(f));
        }
        assertThat(QuantFixtureTest.sha256(bb.array())).isEqualTo(want);
    }
}
