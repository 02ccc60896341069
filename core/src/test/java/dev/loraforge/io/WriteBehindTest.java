package dev.loraforge.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class WriteBehindTest {
    @TempDir
    Path tmp;

    static LongStream seeds() {
        return LongStream.of(1, 2, 3, 4, 5, 6);
    }

    private FileChannel sized(Path file, long size) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        ch.write(ByteBuffer.allocate(1), size - 1);
        return ch;
    }

    /**
     * Pieces of random sizes and places (whole blocks direct, ends through the page cache, blocks shared by
     * neighbouring pieces), handed in random order from three threads, give exactly the intended file.
     */
    @ParameterizedTest
    @MethodSource("seeds")
    void piecesFromSeveralThreadsGiveTheFile(long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] bytes = new byte[r.nextInt(1, 400_000)];
        r.nextBytes(bytes);
        long start = r.nextInt(0, 9000); // data need not start on a block
        List<long[]> spans = new ArrayList<>();
        for (long at = 0; at < bytes.length; ) {
            long n = Math.min(bytes.length - at, r.nextLong(1, 3 * WriteBehind.BLOCK + 500));
            spans.add(new long[] {at, n});
            at += n;
        }
        Collections.shuffle(spans, new Random(r.nextLong()));
        Path file = tmp.resolve("out");
        try (FileChannel ch = sized(file, start + bytes.length);
             WriteBehind wb = WriteBehind.open(file, ch, 2, 3);
             ExecutorService pool = Executors.newFixedThreadPool(3)) {
            List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int first = t;
                jobs.add(pool.submit(() -> {
                    for (int i = first; i < spans.size(); i += 3) {
                        long[] s = spans.get(i);
                        try (Piece p = wb.take(start + s[0], s[1])) {
                            assertThat(p.segment().byteSize()).isEqualTo(s[1]);
                            assertThat(Math.floorMod(p.segment().address() - (start + s[0]), WriteBehind.BLOCK)).isZero();
                            p.segment().copyFrom(MemorySegment.ofArray(bytes).asSlice(s[0], s[1]));
                            p.write();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : jobs) {
                f.get();
            }
            wb.flush();
        }
        byte[] got = Files.readAllBytes(file);
        assertThat(got.length).isEqualTo(start + bytes.length);
        assertThat(java.util.Arrays.copyOfRange(got, (int) start, got.length)).isEqualTo(bytes);
    }

    /** Segments placed off the block grid, and heap ones, are written through the page cache. */
    @Test
    void writeAtTakesSegmentsOfAnyPlacement() throws IOException {
        Path file = tmp.resolve("out");
        byte[] bytes = new byte[5 * WriteBehind.BLOCK];
        new SplittableRandom(7).nextBytes(bytes);
        try (FileChannel ch = sized(file, 2L * bytes.length); WriteBehind wb = WriteBehind.open(file, ch, 1, 1);
             Arena arena = Arena.ofConfined()) {
            MemorySegment raw = arena.allocate(bytes.length + WriteBehind.BLOCK, WriteBehind.BLOCK);
            MemorySegment off = raw.asSlice(3, bytes.length).copyFrom(MemorySegment.ofArray(bytes));
            wb.writeAt(0, off); // block-aligned position, misplaced buffer
            wb.writeAt(bytes.length, MemorySegment.ofArray(bytes));
        }
        byte[] got = Files.readAllBytes(file);
        assertThat(java.util.Arrays.copyOfRange(got, 0, bytes.length)).isEqualTo(bytes);
        assertThat(java.util.Arrays.copyOfRange(got, bytes.length, got.length)).isEqualTo(bytes);
    }

    /** Taking blocks while every buffer is out; a piece closed unwritten gives its buffer back. */
    @Test
    void buffersAreBoundedAndGivenBack() throws Exception {
        Path file = tmp.resolve("out");
        try (FileChannel ch = sized(file, 1 << 20); WriteBehind wb = WriteBehind.open(file, ch, 1, 2)) {
            Piece a = wb.take(0, 100);
            Piece b = wb.take(100, 100);
            CompletableFuture<Piece> third = CompletableFuture.supplyAsync(() -> {
                try {
                    return wb.take(200, 100);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            assertThatThrownBy(() -> third.get(200, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            a.close();
            Piece c = third.get(30, TimeUnit.SECONDS);
            a.close(); // twice is harmless
            c.segment().fill((byte) 1);
            c.write();
            assertThatThrownBy(c::write).isInstanceOf(IllegalStateException.class);
            b.close();
            wb.flush();
        }
        assertThat(Files.readAllBytes(file)[250]).isEqualTo((byte) 1);
    }

    /** A failed write is reported by the next take and by flush; nothing is written after it. */
    @Test
    void aFailedWriteIsReported() throws Exception {
        Path file = tmp.resolve("out");
        FileChannel ch = sized(file, 1 << 20);
        try (WriteBehind wb = WriteBehind.open(file, ch, 1, 2)) {
            ch.close();
            try (Piece p = wb.take(1, 10)) { // not block-aligned: goes through the closed channel
                p.write();
            }
            assertThatThrownBy(wb::flush).isInstanceOf(IOException.class).hasCauseInstanceOf(ClosedChannelException.class);
            assertThatThrownBy(() -> wb.take(0, 10)).isInstanceOf(IOException.class);
        }
    }

    @Test
    void piecesCannotBeHandedAfterClose() throws IOException {
        Path file = tmp.resolve("out");
        try (FileChannel ch = sized(file, 1 << 20)) {
            WriteBehind wb = WriteBehind.open(file, ch, 1, 2);
            Piece p = wb.take(0, 10);
            wb.close();
            assertThatThrownBy(p::write).isInstanceOf(IOException.class).hasMessageContaining("closed");
        }
    }
}
