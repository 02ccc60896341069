package dev.loraforge.format.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GGUF file over 4 GiB, written and read through long offsets and single mappings (no 2 GiB chunks).
 * The file is sparse: only the header and the bytes touched are stored, so it costs little disk.
 */
class GgufLargeFileIT {
    @TempDir
    Path tmp;

    @Test
    void writesAndReadsTensorsBeyondFourGiB() throws IOException {
        Path out = tmp.resolve("big.gguf");
        long big = (1L << 32) + 1024; // F32 elements x 1: 4 GiB + 4 KiB of data
        try (GgufWriter w = GgufWriter.create(out, false)) {
            w.addKv(GgufKeys.ARCHITECTURE, GgufValue.string("llama"));
            w.addTensor("huge.weight", GgmlType.I8, big);
            w.addTensor("after.weight", GgmlType.F32, 4);
            w.writeHeader();
            MemorySegment huge = w.tensorSegment("huge.weight");
            assertThat(huge.byteSize()).isEqualTo(big);
            huge.set(ValueLayout.JAVA_BYTE, 0, (byte) 7);
            huge.set(ValueLayout.JAVA_BYTE, big - 1, (byte) 9);
            huge.set(ValueLayout.JAVA_BYTE, 1L << 31, (byte) 5);
            float[] four = {1f, -2f, 3.5f, Float.MIN_VALUE};
            w.writeTensor("after.weight", MemorySegment.ofArray(four));
            w.finish();
        }
        assertThat(Files.size(out)).isGreaterThan(1L << 32);
        try (GgufFile f = GgufFile.open(out)) {
            GgufTensor huge = f.tensor("huge.weight");
            assertThat(huge.byteSize()).isEqualTo(big);
            assertThat(huge.data().get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 7);
            assertThat(huge.data().get(ValueLayout.JAVA_BYTE, 1L << 31)).isEqualTo((byte) 5);
            assertThat(huge.data().get(ValueLayout.JAVA_BYTE, big - 1)).isEqualTo((byte) 9);
            GgufTensor after = f.tensor("after.weight");
            assertThat(after.offset()).isEqualTo(GgufFormat.pad(big, 32)).isGreaterThan(1L << 32);
            assertThat(after.view().toFloatArray()).containsExactly(1f, -2f, 3.5f, Float.MIN_VALUE);
        }
    }
}
