package dev.loraforge.format.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class GgufWriterTest {
    @TempDir
    Path tmp;

    /** The writer's bytes equal the hand-assembled reference file of the corrupt-file tests. */
    @Test
    void writesTheSameBytesAsTheHandAssembledFile() throws IOException {
        byte[] expected = new GgufBytes().build();
        Path out = tmp.resolve("w.gguf");
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.addKv("general.architecture", GgufValue.string("llama"));
            w.addKv("general.alignment", GgufValue.uint32(32));
            w.addTensor("a", GgmlType.F32, 8, 2);
            w.addTensor("b", GgmlType.F16, 32);
            w.writeHeader();
            byte[] data = new byte[128];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) i;
            }
            w.writeTensor("b", MemorySegment.ofArray(data).asSlice(64, 64));
            w.tensorSegment("a").copyFrom(MemorySegment.ofArray(data).asSlice(0, 64));
            w.finish();
        }
        assertThat(Files.readAllBytes(out)).isEqualTo(expected);
    }

    static Stream<Long> seeds() {
        return Stream.of(1L, 2L, 3L, 42L, 260L, 512L, 2026L, 0xC0FFEEL);
    }

    /** Random KVs of every type (nested arrays too), random tensors of every ggml type, random alignment. */
    @ParameterizedTest
    @MethodSource("seeds")
    void roundTripsRandomFiles(long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        List<GgufKv> kvs = new ArrayList<>();
        int alignment = 1 << r.nextInt(0, 13);
        if (alignment != GgufFormat.DEFAULT_ALIGNMENT || r.nextBoolean()) {
            kvs.add(new GgufKv("general.alignment", GgufValue.uint32(alignment)));
        }
        for (GgufValueType t : GgufValueType.values()) {
            kvs.add(new GgufKv("k." + t.name().toLowerCase() + "." + r.nextInt(1000), randomValue(r, t, 0)));
        }
        List<Object[]> tensors = new ArrayList<>();
        int n = r.nextInt(0, 8);
        for (int i = 0; i < n; i++) {
            GgmlType type = GgmlType.values()[r.nextInt(GgmlType.values().length)];
            int rank = r.nextInt(type.blockSize() == 1 ? 0 : 1, GgufFormat.MAX_DIMS + 1);
            long[] dims = new long[rank];
            for (int d = 0; d < rank; d++) {
                dims[d] = d == 0 ? (long) type.blockSize() * r.nextInt(0, 4) : r.nextInt(0, 4);
            }
            tensors.add(new Object[] {"t" + i + ".weight", type, dims});
        }

        Path out = tmp.resolve("r" + seed + ".gguf");
        List<byte[]> data = new ArrayList<>();
        List<GgufTensorInfo> placed;
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.addKvs(kvs);
            for (Object[] t : tensors) {
                long bytes = w.addTensor((String) t[0], (GgmlType) t[1], (long[]) t[2]);
                byte[] b = new byte[(int) bytes];
                r.nextBytes(b);
                data.add(b);
            }
            placed = w.writeHeader();
            for (int i = tensors.size() - 1; i >= 0; i--) { // any order is fine
                w.writeTensor((String) tensors.get(i)[0], MemorySegment.ofArray(data.get(i)));
            }
            w.finish();
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.alignment()).isEqualTo(alignment);
            assertThat(f.kvs()).containsExactlyElementsOf(kvs);
            assertThat(f.tensors().stream().map(GgufTensor::info).toList()).containsExactlyElementsOf(placed);
            for (int i = 0; i < tensors.size(); i++) {
                GgufTensor t = f.tensors().get(i);
                assertThat(t.offset() % alignment).isZero();
                assertThat(t.data().toArray(ValueLayout.JAVA_BYTE)).as(t.name()).isEqualTo(data.get(i));
            }
            long expectedSize = tensors.isEmpty() ? f.segment().byteSize()
                    : f.dataOffset() + (placed.isEmpty() ? 0 : GgufFormat.pad(
                            placed.getLast().offset() + placed.getLast().byteSize(), alignment));
            assertThat(f.fileSize()).isEqualTo(expectedSize);
        }
    }

    @Test
    void keepsFloatBitsAndUnicodeExactly() throws IOException {
        Path out = tmp.resolve("bits.gguf");
        float nan = Float.intBitsToFloat(0x7FC00001);
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.addKv("nan", GgufValue.float32(nan));
            w.addKv("neg0", GgufValue.float64(-0.0));
            w.addKv("u64max", GgufValue.uint64(-1L));
            w.addKv("i8", GgufValue.int8(-128));
            w.addKv("text", GgufValue.string("héllo ▁wörld 🦙 \u0000 end"));
            w.writeHeader();
            w.finish();
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(((GgufValue.Scalar) f.require("nan")).bits()).isEqualTo(0x7FC00001L);
            assertThat(((GgufValue.Scalar) f.require("neg0")).bits()).isEqualTo(Double.doubleToRawLongBits(-0.0));
            assertThat(f.require("u64max").toString()).isEqualTo("18446744073709551615");
            assertThat(f.require("i8").asLong()).isEqualTo(-128);
            assertThat(f.requireString("text")).isEqualTo("héllo ▁wörld 🦙 \u0000 end");
            assertThat(f.tensors()).isEmpty();
        }
    }

    /**
     * Pieces through {@link GgufWriter#tensorSink}, from two threads, in random order and sizes (whole blocks
     * direct and partial ones through the page cache, with blocks shared between tensors and pieces), give the
     * same file as whole-tensor writes.
     */
    @ParameterizedTest
    @MethodSource("seeds")
    void sinkPiecesGiveTheSameFileAsWholeWrites(long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        long[] counts = {r.nextLong(1, 40_000), 7, r.nextLong(4096, 30_000), r.nextLong(1, 3000)};
        byte[][] data = new byte[counts.length][];
        for (int t = 0; t < counts.length; t++) {
            data[t] = new byte[(int) counts[t] * 4];
            r.nextBytes(data[t]);
        }
        Path whole = tmp.resolve("whole.gguf");
        Path pieces = tmp.resolve("pieces.gguf");
        for (Path out : List.of(whole, pieces)) {
            try (GgufWriter w = GgufWriter.create(out, false)) {
                w.addKv("general.alignment", GgufValue.uint32(32));
                for (int t = 0; t < counts.length; t++) {
                    w.addTensor("t" + t, GgmlType.F32, counts[t]);
                }
                w.writeHeader();
                if (out == whole) {
                    for (int t = 0; t < counts.length; t++) {
                        w.writeTensor("t" + t, MemorySegment.ofArray(data[t]));
                    }
                } else {
                    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
                    List<java.util.concurrent.Future<?>> jobs = new ArrayList<>();
                    for (int t = counts.length - 1; t >= 0; t--) {
                        byte[] bytes = data[t];
                        GgufWriter.TensorSink sink = w.tensorSink("t" + t);
                        long pieceSeed = r.nextLong();
                        jobs.add(pool.submit(() -> {
                            writeInPieces(sink, bytes, new SplittableRandom(pieceSeed));
                            return null;
                        }));
                    }
                    for (java.util.concurrent.Future<?> f : jobs) {
                        f.get();
                    }
                    pool.shutdown();
                }
                w.finish();
            }
        }
        assertThat(Files.mismatch(whole, pieces)).isEqualTo(-1L);
    }

    private static void writeInPieces(GgufWriter.TensorSink sink, byte[] bytes, SplittableRandom r) throws IOException {
        List<long[]> spans = new ArrayList<>();
        for (long at = 0; at < bytes.length; ) {
            long n = Math.min(bytes.length - at, r.nextLong(1, 20_000));
            spans.add(new long[] {at, n});
            at += n;
        }
        java.util.Collections.shuffle(spans, new java.util.Random(r.nextLong()));
        for (long[] span : spans) {
            try (dev.loraforge.io.Piece piece = sink.piece(span[0], span[1])) {
                piece.segment().copyFrom(MemorySegment.ofArray(bytes).asSlice(span[0], span[1]));
                piece.write();
            }
        }
    }

    @Test
    void writesFromHeapSegmentsOfAnyPrimitiveArray() throws IOException {
        Path out = tmp.resolve("heap.gguf");
        float[] f = {1.5f, -0f, Float.NaN};
        short[] h = {0x3C00, (short) 0xBC00};
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.addTensor("f", GgmlType.F32, 3);
            w.addTensor("h", GgmlType.F16, 2);
            w.writeHeader();
            w.writeTensor("f", MemorySegment.ofArray(f));
            w.writeTensor("h", MemorySegment.ofArray(h));
            w.finish();
        }
        try (GgufFile g = GgufFile.open(out)) {
            assertThat(g.tensor("f").view().toFloatArray()).containsExactly(1.5f, -0f, Float.NaN);
            assertThat(g.tensor("h").view().toFloatArray()).containsExactly(1f, -1f);
        }
    }

    @Test
    void neverOverwritesUnlessAsked() throws IOException {
        Path out = tmp.resolve("exists.gguf");
        Files.writeString(out, "keep me");
        assertThatThrownBy(() -> GgufWriter.create(out, false)).isInstanceOf(FileAlreadyExistsException.class);
        try (GgufWriter w = GgufWriter.create(out, true)) {
            w.writeHeader();
            w.finish();
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.kvs()).isEmpty();
        }
    }

    @Test
    void unfinishedOrIncompleteWritesLeaveNothing() throws IOException {
        Path out = tmp.resolve("partial.gguf");
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.addTensor("a", GgmlType.F32, 4);
            w.addTensor("b", GgmlType.F32, 4);
            w.writeHeader();
            w.writeTensor("a", MemorySegment.ofArray(new byte[16]));
            assertThatThrownBy(w::finish).isInstanceOf(IllegalStateException.class).hasMessageContaining("'b'");
            assertThatThrownBy(() -> w.writeTensor("a", MemorySegment.ofArray(new byte[16])))
                    .isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> w.writeTensor("b", MemorySegment.ofArray(new byte[15])))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void enforcesTheReadersRulesWhenDeclaring() throws IOException {
        try (GgufWriter w = GgufWriter.create(tmp.resolve("rules.gguf"), false)) {
            w.addKv("k", GgufValue.bool(true));
            assertKind(() -> w.addKv("k", GgufValue.bool(false)), GgufException.Kind.DUPLICATE_KEY);
            assertKind(() -> w.addKv("general.alignment", GgufValue.uint64(32)), GgufException.Kind.ALIGNMENT_TYPE);
            assertKind(() -> w.addKv("general.alignment", GgufValue.uint32(24)), GgufException.Kind.BAD_ALIGNMENT);
            assertKind(() -> w.addTensor("x".repeat(64), GgmlType.F32, 1), GgufException.Kind.NAME_TOO_LONG);
            w.addTensor("x".repeat(63), GgmlType.F32, 1);
            assertKind(() -> w.addTensor("x".repeat(63), GgmlType.F32, 1), GgufException.Kind.DUPLICATE_TENSOR);
            assertKind(() -> w.addTensor("x\0y", GgmlType.F32, 1), GgufException.Kind.NAME_HAS_NUL);
            assertKind(() -> w.addTensor("d", GgmlType.F32, 1, 1, 1, 1, 1), GgufException.Kind.TOO_MANY_DIMS);
            assertKind(() -> w.addTensor("d", GgmlType.F32, -1), GgufException.Kind.NEGATIVE_DIM);
            assertKind(() -> w.addTensor("d", GgmlType.F32, 1L << 32, 0, 1L << 32), GgufException.Kind.ELEMENT_COUNT_OVERFLOW);
            assertKind(() -> w.addTensor("d", GgmlType.Q4_K, 128), GgufException.Kind.ROW_NOT_BLOCK_MULTIPLE);
            assertKind(() -> w.addTensor("d", GgmlType.F64, 1L << 61), GgufException.Kind.BYTE_SIZE_OVERFLOW);
        }
    }

    private static void assertKind(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, GgufException.Kind kind) {
        assertThatThrownBy(call).isInstanceOfSatisfying(GgufException.class, e -> assertThat(e.kind()).isEqualTo(kind));
    }

    static GgufValue randomValue(SplittableRandom r, GgufValueType t, int depth) {
        return switch (t) {
            case STRING -> GgufValue.string(randomString(r));
            case ARRAY -> {
                GgufValueType et = GgufValueType.values()[r.nextInt(GgufValueType.values().length)];
                if (et == GgufValueType.ARRAY && depth >= 2) {
                    et = GgufValueType.INT32;
                }
                int len = r.nextInt(0, 12);
                List<GgufValue> items = new ArrayList<>();
                for (int i = 0; i < len; i++) {
                    items.add(randomValue(r, et, depth + 1));
                }
                yield GgufValue.array(et, items);
            }
            case BOOL -> GgufValue.bool(r.nextBoolean());
            default -> {
                long bits = r.nextLong();
                int width = t.size() * 8;
                yield new GgufValue.Scalar(t, width == 64 ? bits : bits & ((1L << width) - 1));
            }
        };
    }

    static String randomString(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int len = r.nextInt(0, 20);
        for (int i = 0; i < len; i++) {
            int cp = switch (r.nextInt(4)) {
                case 0 -> r.nextInt(0x20, 0x7F);
                case 1 -> r.nextInt(0xA0, 0x800);
                case 2 -> r.nextInt(0x800, 0xD800);
                default -> r.nextInt(0x10000, 0x110000);
            };
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }
}
