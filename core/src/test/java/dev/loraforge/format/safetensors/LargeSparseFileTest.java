package dev.loraforge.format.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.Shape;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files over 4 GiB with tensors past the 2 GiB mark. Cheap: the files are sparse (only the header and a
 * few bytes are ever written) and live in a temporary folder that JUnit deletes.
 */
class LargeSparseFileTest {
    static final long BIG = 1L << 30; // F32 elements: 4 GiB

    @Test
    void readsATensorPast4GiB(@TempDir Path dir) throws IOException {
        String json = "{\"big\":{\"dtype\":\"F32\",\"shape\":[1024," + (BIG / 1024) + "],\"data_offsets\":[0," + 4 * BIG
                + "]},\"tail\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + 4 * BIG + "," + (4 * BIG + 12) + "]}}";
        byte[] j = json.getBytes(StandardCharsets.US_ASCII);
        int n = (j.length + 7) / 8 * 8;
        Path p = dir.resolve("sparse.safetensors");
        long dataStart = 8 + n;
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.setLength(dataStart + 4 * BIG + 12);
            ByteBuffer head = ByteBuffer.allocate(8 + n).order(ByteOrder.LITTLE_ENDIAN).putLong(n).put(j);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            raf.write(head.array());
            ByteBuffer tail = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).putFloat(3.25f);
            raf.seek(dataStart + 4 * BIG);
            raf.write(tail.array());
            ByteBuffer mid = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(7f);
            raf.seek(dataStart + 4 * (BIG / 2 + 3)); // element 2^29 + 3 of big, at ~2 GiB
            raf.write(mid.array());
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            TensorView tail = f.get("tail");
            assertThat(tail.getFloat(0)).isEqualTo(1.5f);
            assertThat(tail.getFloat(1)).isEqualTo(-2f);
            assertThat(tail.getFloat(2)).isEqualTo(3.25f);
            TensorView big = f.get("big");
            assertThat(big.byteSize()).isEqualTo(4 * BIG);
            assertThat(big.getFloat(BIG / 2 + 3)).isEqualTo(7f);
            assertThat(big.getFloat(BIG - 1)).isZero();
        }
    }

    @Test
    void writesATensorPast4GiB(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("w.safetensors");
        List<TensorSpec> specs = List.of(TensorSpec.of("a", DType.F32, BIG), TensorSpec.of("b", DType.F32, 2));
        try (SafetensorsWriter w = SafetensorsWriter.create(p, Map.of("format", "pt"), specs, false)) {
            MemorySegment a = w.segmentFor("a"); // left as zeros except one element past 2 GiB
            a.setAtIndex(TensorView.F32_LE, BIG - 5, 42f);
            w.write("b", MemorySegment.ofArray(new float[] {9f, -9f}));
            w.commit();
        }
        assertThat(Files.size(p)).isGreaterThan(4 * BIG);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.get("a").shape()).isEqualTo(Shape.of(BIG));
            assertThat(f.get("a").getFloat(BIG - 5)).isEqualTo(42f);
            assertThat(f.get("b").getFloat(1)).isEqualTo(-9f);
            assertThat(f.header().entry("b").orElseThrow().begin()).isEqualTo(4 * BIG);
        }
    }
}
