package dev.loraforge.format.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loraforge.format.safetensors.SafetensorsWriter.Order;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {

    static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    static MemorySegment f32(float... v) {
        return MemorySegment.ofArray(v); // host order is little-endian on every platform we run on
    }

    static byte[] writeAndRead(Path file, Map<String, String> meta, List<TensorSpec> specs, Map<String, MemorySegment> data)
            throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.create(file, meta, specs, false)) {
            for (TensorSpec s : specs) {
                w.write(s.name(), data.getOrDefault(s.name(), MemorySegment.ofArray(new byte[(int) s.byteSize()])));
            }
            w.commit();
        }
        return Files.readAllBytes(file);
    }

    // Expected bytes below are the outputs asserted by huggingface/safetensors' own serialize tests.
    @Test
    void matchesTheLibrarysSerializeTests(@TempDir Path dir) throws IOException {
        MemorySegment six = f32(0, 1, 2, 3, 4, 5);
        assertThat(writeAndRead(dir.resolve("1"), null, List.of(TensorSpec.of("attn.0", DType.F32, 1, 2, 3)),
                Map.of("attn.0", six))).isEqualTo(bytes(
                64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
                116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
                58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
                101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
                0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64));
        assertThat(writeAndRead(dir.resolve("2"), null, List.of(TensorSpec.of("attn.0", DType.F4, 1, 2)),
                Map.of("attn.0", MemorySegment.ofArray(new byte[1])))).isEqualTo(bytes(
                64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
                116, 121, 112, 101, 34, 58, 34, 70, 52, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
                91, 49, 44, 50, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116,
                115, 34, 58, 91, 48, 44, 49, 93, 125, 125, 32, 32, 32, 32, 0));
        assertThat(writeAndRead(dir.resolve("3"), null, List.of(), Map.of()))
                .isEqualTo(bytes(8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32));
        assertThat(writeAndRead(dir.resolve("4"), Map.of("framework", "pt"), List.of(), Map.of())).isEqualTo(bytes(
                40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
                95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
                116, 34, 125, 125, 32, 32, 32, 32, 32));
        assertThat(writeAndRead(dir.resolve("5"), null, List.of(TensorSpec.of("attn0", DType.F32, 1, 1, 2, 3)),
                Map.of("attn0", six))).isEqualTo(bytes(
                72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
                121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
                91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
                115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
                32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
                160, 64));
    }

    @Test
    void libraryOrderIsDtypeDescendingThenUtf8Name() {
        List<TensorSpec> in = List.of(
                TensorSpec.of("b", DType.BF16, 1), TensorSpec.of("a", DType.F32, 1), TensorSpec.of("c", DType.U8, 1),
                TensorSpec.of("d", DType.F64, 1), TensorSpec.of("e", DType.I64, 1), TensorSpec.of("f", DType.F16, 1),
                TensorSpec.of("g", DType.BOOL, 1), TensorSpec.of("h", DType.F4, 2), TensorSpec.of("i", DType.U64, 1),
                TensorSpec.of("j", DType.C64, 1), TensorSpec.of("k", DType.F8_E8M0, 1), TensorSpec.of("l", DType.I16, 1),
                // names: code point order, not UTF-16 order (U+FFFF sorts before U+1F600)
                TensorSpec.of("\uD83D\uDE00", DType.F32, 1), TensorSpec.of("\uFFFF", DType.F32, 1),
                TensorSpec.of("é", DType.F32, 1), TensorSpec.of("Z", DType.F32, 1), TensorSpec.of("a.10", DType.F32, 1),
                TensorSpec.of("a.9", DType.F32, 1));
        List<String> names = SafetensorsWriter.order(in, Order.LIBRARY).stream().map(TensorSpec::name).toList();
        assertThat(names).containsExactly("i", "e", "d", "j", "Z", "a", "a.10", "a.9", "é", "\uFFFF", "\uD83D\uDE00",
                "b", "f", "l", "k", "c", "h", "g");
        assertThat(SafetensorsWriter.order(in, Order.AS_GIVEN)).isEqualTo(in);
    }

    @Test
    void escapesLikeSerdeJsonAndReadsBack(@TempDir Path dir) throws IOException {
        String name = "q\"b\\s\nc\u0001\u001fé\u007f/";
        Path p = dir.resolve("e.safetensors");
        byte[] file = writeAndRead(p, Map.of("k\t", "v\r"), List.of(TensorSpec.of(name, DType.U8, 2)), Map.of());
        String json = new String(file, 8, file.length - 8 - 2, StandardCharsets.UTF_8).strip();
        assertThat(json).isEqualTo("{\"__metadata__\":{\"k\\t\":\"v\\r\"},\"q\\\"b\\\\s\\nc\\u0001\\u001fé\u007f/\":"
                + "{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}");
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.names()).containsExactly(name);
            assertThat(f.metadata()).containsEntry("k\t", "v\r");
        }
    }

    @Test
    void rewritesTheAdapterByteForByte(@TempDir Path dir) throws IOException {
        // the adapter fixture is laid out as the Rust library writes it (checked: sorted, {"format":"pt"})
        Path src = Fixtures.path(Fixtures.STORIES_ADAPTER);
        Path out = dir.resolve("adapter_model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(src)) {
            List<String> shuffled = new ArrayList<>(f.names());
            java.util.Collections.shuffle(shuffled, new java.util.Random(7));
            SafetensorsWriter.write(out, f.metadata(), f, shuffled, Order.LIBRARY, false);
        }
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(src));
    }

    @Test
    void rewritesTheModelInItsOwnOrderOrTheLibrarys(@TempDir Path dir) throws IOException {
        // the model fixture was written by a small Python writer in insertion order, not the library's order
        Path src = Fixtures.path(Fixtures.STORIES_MODEL);
        Path same = dir.resolve("same.safetensors");
        Path lib = dir.resolve("lib.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(src)) {
            SafetensorsWriter.write(same, f.metadata(), f, f.names(), Order.AS_GIVEN, false);
            SafetensorsWriter.write(lib, f.metadata(), f, f.names(), Order.LIBRARY, false);
        }
        assertThat(Files.readAllBytes(same)).isEqualTo(Files.readAllBytes(src));
        assertThat(Files.readAllBytes(lib)).isNotEqualTo(Files.readAllBytes(src));
        try (SafetensorsFile a = SafetensorsFile.open(src); SafetensorsFile b = SafetensorsFile.open(lib)) {
            assertThat(b.names()).isSorted().containsExactlyInAnyOrderElementsOf(a.names());
            for (String n : a.names()) {
                TensorView x = a.get(n);
                TensorView y = b.get(n);
                assertThat(y.shape()).isEqualTo(x.shape());
                assertThat(y.data().mismatch(x.data())).as(n).isEqualTo(-1);
            }
        }
    }

    @Test
    void parallelInPlaceFill(@TempDir Path dir) throws Exception {
        List<TensorSpec> specs = IntStream.range(0, 16).mapToObj(i -> TensorSpec.of("t" + i, DType.F32, 1000 + i)).toList();
        Path p = dir.resolve("par.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(p, Map.of("format", "pt"), specs, false);
             ExecutorService ex = Executors.newFixedThreadPool(4)) {
            List<Future<?>> fs = new ArrayList<>();
            for (TensorSpec s : specs) {
                fs.add(ex.submit(() -> {
                    MemorySegment seg = w.segmentFor(s.name());
                    for (long i = 0; i < seg.byteSize() / 4; i++) {
                        seg.setAtIndex(TensorView.F32_LE, i, Integer.parseInt(s.name().substring(1)) * 10000f + i);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (TensorSpec s : specs) {
                TensorView v = f.get(s.name());
                int k = Integer.parseInt(s.name().substring(1));
                assertThat(v.getFloat(0)).isEqualTo(k * 10000f);
                assertThat(v.getFloat(v.elementCount() - 1)).isEqualTo(k * 10000f + v.elementCount() - 1);
            }
        }
    }

    @Test
    void slotsTakePartsInAnyOrderFromManyThreadsAndCheckBounds(@TempDir Path dir) throws Exception {
        List<TensorSpec> specs = IntStream.range(0, 6).mapToObj(i -> TensorSpec.of("t" + i, DType.F32, 3000 + i)).toList();
        Path p = dir.resolve("slots.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(p, Map.of("format", "pt"), specs, false);
             ExecutorService ex = Executors.newFixedThreadPool(3)) {
            List<Future<?>> fs = new ArrayList<>();
            for (TensorSpec s : specs) {
                SafetensorsWriter.Slot slot = w.slot(s.name());
                assertThat(slot.byteSize()).isEqualTo(s.byteSize());
                int k = Integer.parseInt(s.name().substring(1));
                long n = s.byteSize() / 4;
                for (long from = (n - 1) / 1000 * 1000; from >= 0; from -= 1000) { // back to front
                    long f0 = from;
                    fs.add(ex.submit(() -> {
                        long len = Math.min(1000, n - f0);
                        MemorySegment part = MemorySegment.ofArray(new float[(int) len]); // not byte[]: copied through a buffer
                        for (long i = 0; i < len; i++) {
                            part.setAtIndex(TensorView.F32_LE, i, k * 10000f + f0 + i);
                        }
                        slot.write(4 * f0, part);
                        return null;
                    }));
                }
                assertThatThrownBy(() -> slot.write(s.byteSize() - 4, f32(1, 2))).isInstanceOf(IndexOutOfBoundsException.class)
                        .hasMessageContaining("'" + s.name() + "'");
                assertThatThrownBy(() -> w.slot(s.name())).isInstanceOf(IllegalStateException.class).hasMessageContaining("twice");
            }
            for (Future<?> f : fs) {
                f.get();
            }
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (TensorSpec s : specs) {
                TensorView v = f.get(s.name());
                int k = Integer.parseInt(s.name().substring(1));
                for (long i = 0; i < v.elementCount(); i++) {
                    if (v.getFloat(i) != k * 10000f + i) {
                        throw new AssertionError(s.name() + "[" + i + "] = " + v.getFloat(i));
                    }
                }
            }
        }
    }

    @Test
    void misuseIsRejectedAndAbortLeavesNothing(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("x.safetensors");
        List<TensorSpec> specs = List.of(TensorSpec.of("a", DType.F32, 2), TensorSpec.of("b", DType.F32, 0));
        try (SafetensorsWriter w = SafetensorsWriter.create(p, null, specs, false)) {
            assertThatThrownBy(() -> w.write("a", f32(1))).hasMessageContaining("'a'").hasMessageContaining("4 bytes given, 8");
            assertThatThrownBy(() -> w.write("zz", f32(1))).hasMessageContaining("'zz'");
            w.write("a", f32(1, 2));
            assertThatThrownBy(() -> w.write("a", f32(1, 2))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("twice");
            assertThatThrownBy(w::commit).isInstanceOf(IllegalStateException.class).hasMessageContaining("[b]");
        }
        assertThat(dir).isEmptyDirectory();
        assertThatThrownBy(() -> SafetensorsWriter.create(p, null, List.of(specs.get(0), specs.get(0)), false))
                .hasMessageContaining("twice");
        assertThatThrownBy(() -> SafetensorsWriter.create(p, null, List.of(TensorSpec.of("__metadata__", DType.U8, 1)), false))
                .hasMessageContaining("reserved");
        Files.writeString(p, "mine");
        assertThatThrownBy(() -> SafetensorsWriter.create(p, null, specs, false)).isInstanceOf(FileAlreadyExistsException.class);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("z", "1");
        meta.put("a", "2");
        byte[] h = SafetensorsWriter.encodeHeader(meta, List.of());
        assertThat(new String(h, 8, h.length - 8, StandardCharsets.UTF_8)).startsWith("{\"__metadata__\":{\"z\":\"1\",\"a\":\"2\"}}");
        byte[] sorted = SafetensorsWriter.encodeHeader(Map.of("z", "1", "a", "2", "m", "3"), List.of());
        assertThat(new String(sorted, 8, sorted.length - 8, StandardCharsets.UTF_8))
                .startsWith("{\"__metadata__\":{\"a\":\"2\",\"m\":\"3\",\"z\":\"1\"}}");
    }
}
