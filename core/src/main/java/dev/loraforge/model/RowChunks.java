package dev.loraforge.model;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs {@code body} over the rows of a matrix in fixed chunks shared by the calling thread and
 * {@code availableProcessors() - 1} helpers from the common pool, which claim chunks from one counter.
 * Cheaper than a parallel stream per matvec (no spliterator tree, no join tree), balanced under foreign
 * load (a slow thread just claims fewer chunks), and the caller never waits for a helper to start: if none
 * does, it does every chunk itself and then only waits for chunks already claimed. With one processor
 * (e.g. {@code -XX:ActiveProcessorCount=1}) everything runs inline.
 */
final class RowChunks {

    /** Work on rows {@code [from, to)}. */
    @FunctionalInterface
    interface Body {
        void rows(int from, int to);
    }

    private RowChunks() {
    }

    static void run(int rows, int chunk, boolean parallel, Body body) {
        int threads = Runtime.getRuntime().availableProcessors();
        int chunks = (rows + chunk - 1) / chunk;
        if (!parallel || threads < 2 || chunks < 2) {
            body.rows(0, rows);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    body.rows(c * chunk, Math.min(rows, (c + 1) * chunk));
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.incrementAndGet();
                }
            }
        };
        for (int i = Math.min(threads, chunks) - 1; i > 0; i--) {
            ForkJoinPool.commonPool().execute(worker);
        }
        worker.run();
        // only chunks a helper has claimed are left: at most one each, so spin briefly, then yield the core
        for (int spins = 0; done.get() < chunks; spins++) {
            if (spins < 1000) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException e) {
            throw e;
        } else if (t instanceof Error e) {
            throw e;
        } else if (t != null) {
            throw new IllegalStateException(t);
        }
    }
}
