package dev.loraforge.model;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs {@code body} over the rows of a matrix in fixed chunks shared by the calling thread and
 * {@code availableProcessors() - 1} helper threads, which claim chunks from one counter. A decoded token is
 * ~100 matvecs of a few hundred microseconds each: the helpers spin briefly between them, as llama.cpp's
 * thread pool does, because waking a parked thread (a common-pool task per matvec) cost ~30% of the
 * two-thread speed. After {@link #SPIN_NANOS} without work they park, so an idle JVM uses no CPU.
 * Balanced under foreign load (a slow thread just claims fewer chunks), and the caller never waits for a
 * helper to start: it does every chunk nobody claimed, then waits only for chunks already claimed. One job
 * at a time: a call made while another runs (another thread, or nested) runs inline. With one processor
 * (e.g. {@code -XX:ActiveProcessorCount=1}) everything runs inline.
 */
final class RowChunks {

    /** Work on rows {@code [from, to)}. */
    @FunctionalInterface
    interface Body {
        void rows(int from, int to);
    }

    /** How long an idle helper spins before it parks: longer than the gap between two matvecs of a token. */
    static final long SPIN_NANOS = 2_000_000;

    private static final int THREADS = Runtime.getRuntime().availableProcessors();
    private static final AtomicBoolean BUSY = new AtomicBoolean();
    private static volatile Job current;
    private static volatile Helper[] helpers;

    private RowChunks() {
    }

    /**
     * The chunks cut into one contiguous range per thread, each with its own counter: a thread claims its
     * range's chunks in order, so it reads one sequential stream (two threads claiming alternate chunks of
     * one counter read 30% slower: the prefetchers lose the stream at every jump). A thread whose range is
     * done helps in the next ranges, which keeps the balance under foreign load.
     */
    private static final class Job {
        final Body body;
        final int rows;
        final int chunk;
        final int chunks;
        final int[] rangeEnd;
        final AtomicInteger[] next;
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(Body body, int rows, int chunk, int chunks, int ranges) {
            this.body = body;
            this.rows = rows;
            this.chunk = chunk;
            this.chunks = chunks;
            this.rangeEnd = new int[ranges];
            this.next = new AtomicInteger[ranges];
            for (int r = 0; r < ranges; r++) {
                next[r] = new AtomicInteger((int) ((long) chunks * r / ranges));
                rangeEnd[r] = (int) ((long) chunks * (r + 1) / ranges);
            }
        }

        void work(int first) {
            for (int k = 0; k < next.length; k++) {
                int r = (first + k) % next.length;
                for (int c; (c = next[r].getAndIncrement()) < rangeEnd[r]; ) {
                    try {
                        body.rows(c * chunk, Math.min(rows, (c + 1) * chunk));
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    } finally {
                        done.incrementAndGet();
                    }
                }
            }
        }
    }

    private static final class Helper extends Thread {
        volatile boolean parked;
        final int index;

        Helper(int i) {
            super("loraforge-rows-" + i);
            this.index = i;
            setDaemon(true);
        }

        @Override
        public void run() {
            Job seen = null;
            long idleSince = System.nanoTime();
            while (true) {
                Job j = current;
                if (j != null && j != seen) {
                    seen = j;
                    j.work(index % j.next.length);
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    Job c = current; // re-read after announcing: a publisher that missed the flag is seen here
                    if (c == null || c == seen) {
                        LockSupport.park(this);
                    }
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }

    static void run(int rows, int chunk, boolean parallel, Body body) {
        int chunks = (rows + chunk - 1) / chunk;
        if (!parallel || THREADS < 2 || chunks < 2 || !BUSY.compareAndSet(false, true)) {
            body.rows(0, rows);
            return;
        }
        Job job = new Job(body, rows, chunk, chunks, Math.min(THREADS, chunks));
        try {
            current = job;
            for (Helper h : helpers()) {
                if (h.parked) {
                    LockSupport.unpark(h);
                }
            }
            job.work(0);
            // only chunks a helper has claimed are left: at most one each, so spin briefly, then yield the core
            for (int spins = 0; job.done.get() < chunks; spins++) {
                if (spins < 1000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        } finally {
            current = null; // the job's arrays are not kept alive between jobs
            BUSY.set(false);
        }
        Throwable t = job.failure.get();
        if (t instanceof RuntimeException e) {
            throw e;
        } else if (t instanceof Error e) {
            throw e;
        } else if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    private static Helper[] helpers() {
        Helper[] hs = helpers;
        return hs != null ? hs : startHelpers();
    }

    private static synchronized Helper[] startHelpers() {
        if (helpers == null) {
            Helper[] hs = new Helper[THREADS - 1];
            for (int i = 0; i < hs.length; i++) {
                hs[i] = new Helper(i + 1);
                hs[i].start();
            }
            helpers = hs;
        }
        return helpers;
    }
}
