package dev.loraforge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every row exactly once, whoever runs it; failures reach the caller; concurrent and nested calls work. */
class RowChunksTest {

    @ParameterizedTest
    @CsvSource({"1,1", "7,3", "64,8", "1000,7", "4096,30", "5,100"})
    void everyRowOnce(int rows, int chunk) {
        for (int round = 0; round < 50; round++) {
            AtomicIntegerArray seen = new AtomicIntegerArray(rows);
            RowChunks.run(rows, chunk, true, (from, to) -> {
                for (int i = from; i < to; i++) {
                    seen.incrementAndGet(i);
                }
            });
            for (int i = 0; i < rows; i++) {
                assertThat(seen.get(i)).as("row %d of %d, round %d", i, rows, round).isEqualTo(1);
            }
        }
    }

    @Test
    void failureReachesTheCaller() {
        assertThatThrownBy(() -> RowChunks.run(100, 1, true, (from, to) -> {
            if (from == 77) {
                throw new IllegalStateException("row 77");
            }
        })).isInstanceOf(IllegalStateException.class).hasMessage("row 77");
        // and the next job runs normally
        everyRowOnce(100, 1);
    }

    /** After a job the helpers spin briefly, then park: an idle JVM burns no core. */
    @Test
    void idleHelpersPark() throws InterruptedException {
        everyRowOnce(64, 8);
        long deadline = System.nanoTime() + 10_000_000_000L;
        List<Thread> helpers;
        do {
            Thread.sleep(20);
            helpers = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("loraforge-rows-")).toList();
        } while (System.nanoTime() < deadline
                && helpers.stream().anyMatch(t -> t.getState() != Thread.State.WAITING));
        assertThat(helpers).allMatch(t -> t.getState() == Thread.State.WAITING);
    }

    @Test
    void concurrentAndNestedCalls() throws Exception {
        int rows = 257;
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<AtomicIntegerArray>> results = new ArrayList<>();
            for (int c = 0; c < 16; c++) {
                results.add(pool.submit(() -> {
                    AtomicIntegerArray seen = new AtomicIntegerArray(rows * 3);
                    RowChunks.run(rows, 5, true, (from, to) -> {
                        for (int i = from; i < to; i++) {
                            int base = i * 3;
                            RowChunks.run(3, 1, true, (f2, t2) -> {
                                for (int k = f2; k < t2; k++) {
                                    seen.incrementAndGet(base + k);
                                }
                            });
                        }
                    });
                    return seen;
                }));
            }
            for (Future<AtomicIntegerArray> f : results) {
                AtomicIntegerArray seen = f.get();
                for (int i = 0; i < seen.length(); i++) {
                    assertThat(seen.get(i)).isEqualTo(1);
                }
            }
        }
    }
}
