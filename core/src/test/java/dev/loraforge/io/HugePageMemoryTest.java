package dev.loraforge.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class HugePageMemoryTest {
    @Test
    void aCopyHoldsTheSameBytesWhereHugePagesCanBeAskedFor() {
        byte[] bytes = new byte[(3 << 20) + 12_345]; // not a whole number of 2 MiB pages
        new SplittableRandom(5).nextBytes(bytes);
        Optional<MemorySegment> copy = HugePageMemory.copyOf(MemorySegment.ofArray(bytes));
        assertThat(copy.isPresent()).isEqualTo(HugePageMemory.available());
        copy.ifPresent(c -> {
            assertThat(c.byteSize()).isEqualTo(bytes.length);
            assertThat(c.address() % (2 << 20)).isZero();
            assertThat(c.mismatch(MemorySegment.ofArray(bytes))).isEqualTo(-1L);
        });
    }

    @Test
    void emptyInputGivesNoCopy() {
        assertThat(HugePageMemory.copyOf(MemorySegment.ofArray(new byte[0]))).isEmpty();
    }

    @Test
    void availableMemoryIsKnownOnLinux() {
        if (System.getProperty("os.name").equals("Linux")) {
            assertThat(HugePageMemory.availableBytes()).isPositive();
        }
    }
}
