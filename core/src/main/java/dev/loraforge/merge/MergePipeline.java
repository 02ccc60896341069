package dev.loraforge.merge;

import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Streams output tensors to their files in tasks of about {@value #TASK_BYTES} output bytes on one worker
 * per core. A task computes its rows (or converts its elements) into a pooled native buffer and writes it
 * with a positioned write (no mapped output: written pages never count in the process's memory), then drops
 * the input pages it read from the process ({@code unload}: madvise DONTNEED; the page cache keeps them).
 * A byte copy writes straight from the mapped input. So memory stays a few buffers whatever the model size.
 * Tasks of the next tensors are queued while the current ones run, so reading, computing and writing of
 * neighbouring tensors overlap; completion is reported in tensor order on the submitting thread.
 *
 * <p>Workers are never interrupted: an interrupt would close the shared output channel.
 */
final class MergePipeline implements AutoCloseable {
    static final long TASK_BYTES = 1L << 20;
    static final long COPY_BYTES = 8L << 20;
    /** Written bytes after which the file's data is synced in the background (so commit has little to wait for). */
    static final long SYNC_BYTES = 256L << 20;

    /** Called on the submitting thread when all of a tensor's bytes are written, in submission order. */
    @FunctionalInterface
    interface TensorDone {
        void done(String name, long bytes);
    }

    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    @FunctionalInterface
    private interface Task {
        void run() throws IOException;
    }

    private record Pending(String name, long bytes, CountDownLatch latch) {
    }

    private final LowRankKernel kernel;
    private final TensorDone onDone;
    private final int permits;
    private final ExecutorService pool;
    private final Semaphore inFlight;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final Arena arena = Arena.ofShared();
    private final ConcurrentLinkedQueue<MemorySegment> buffers = new ConcurrentLinkedQueue<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final ExecutorService syncer;
    private final Semaphore syncing = new Semaphore(1);
    private final AtomicLong unsynced = new AtomicLong();
    private volatile IoAction sync;

    MergePipeline(int threads, LowRankKernel kernel, TensorDone onDone) {
        this.kernel = kernel;
        this.onDone = onDone;
        this.permits = 2 * threads + 2; // a couple of tasks queued per worker: read-ahead without hoarding memory
        this.inFlight = new Semaphore(permits);
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "loraforge-merge-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.syncer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "loraforge-sync");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Sets what syncs the current output file's written data to disk (fdatasync), run in the background
     * every {@value #SYNC_BYTES} bytes so the disk writes overlap the computing; null for none.
     */
    void syncWith(IoAction action) {
        sync = action;
        unsynced.set(0);
    }

    private void wrote(long bytes) {
        IoAction s = sync;
        if (s != null && unsynced.addAndGet(bytes) >= SYNC_BYTES && syncing.tryAcquire()) {
            unsynced.set(0);
            syncer.execute(() -> {
                try {
                    s.run();
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    syncing.release();
                }
            });
        }
    }

    /** Queues the tasks that fill {@code slot} with {@code op}'s result; blocks while enough are queued. */
    void submit(MergePlan.Op op, SafetensorsWriter.Slot slot) throws IOException {
        throwIfFailed();
        long total = op.shape().byteCount(op.outType());
        Pending p;
        switch (op) {
            case MergePlan.Copy c -> p = copy(c.name(), c.source(), c.outType(), slot, total);
            case MergePlan.Replace r -> p = copy(r.name(), r.source(), r.outType(), slot, total);
            case MergePlan.Update u -> {
                MergePlan.Factors f = MergePlan.factors(u);
                int rows = TensorMerge.checkShapes(u.base(), f.terms(), f.magnitude());
                TensorMerge.Rows merger = TensorMerge.rows(u.base(), f.terms(), f.magnitude(), u.outType(), kernel);
                long rowBytes = u.shape().dim(1) * u.outType().byteSize();
                long inRowBytes = u.shape().dim(1) * u.base().dtype().byteSize();
                int step = (int) Math.max(1, TASK_BYTES / Math.max(1, rowBytes));
                p = pending(u.name(), total, (rows + step - 1) / step);
                for (int from = 0; from < rows; from += step) {
                    int r0 = from;
                    int r1 = Math.min(rows, from + step);
                    run(p, () -> {
                        MemorySegment buf = buffer((r1 - r0) * rowBytes);
                        try {
                            MemorySegment out = buf.asSlice(0, (r1 - r0) * rowBytes);
                            merger.merge(r0, r1, out);
                            slot.write(r0 * rowBytes, out);
                            wrote(out.byteSize());
                        } finally {
                            release(buf);
                        }
                        unload(u.base().data().asSlice(r0 * inRowBytes, (r1 - r0) * inRowBytes));
                    });
                }
            }
        }
        report(false);
    }

    private Pending copy(String name, TensorView src, DType outType, SafetensorsWriter.Slot slot, long total)
            throws IOException {
        if (src.dtype() == outType) {
            Pending p = pending(name, total, (int) ((total + COPY_BYTES - 1) / COPY_BYTES));
            for (long off = 0; off < total; off += COPY_BYTES) {
                MemorySegment part = src.data().asSlice(off, Math.min(COPY_BYTES, total - off));
                long at = off;
                run(p, () -> {
                    slot.write(at, part);
                    wrote(part.byteSize());
                    unload(part);
                });
            }
            return p;
        }
        long n = src.elementCount();
        int inBytes = src.dtype().byteSize();
        int outBytes = outType.byteSize();
        long step = Math.max(1, TASK_BYTES / outBytes);
        Pending p = pending(name, total, (int) ((n + step - 1) / step));
        for (long from = 0; from < n; from += step) {
            long e0 = from;
            int len = (int) Math.min(step, n - from);
            run(p, () -> {
                MemorySegment buf = buffer((long) len * outBytes);
                try {
                    MemorySegment out = buf.asSlice(0, (long) len * outBytes);
                    TensorMerge.convertRange(src, outType, e0, len, out);
                    slot.write(e0 * outBytes, out);
                    wrote(out.byteSize());
                } finally {
                    release(buf);
                }
                unload(src.data().asSlice(e0 * inBytes, (long) len * inBytes));
            });
        }
        return p;
    }

    private Pending pending(String name, long bytes, int tasks) {
        Pending p = new Pending(name, bytes, new CountDownLatch(tasks));
        pending.add(p);
        return p;
    }

    private void run(Pending p, Task task) throws IOException {
        inFlight.acquireUninterruptibly();
        if (failure.get() != null) {
            inFlight.release();
            p.latch().countDown();
            throwIfFailed();
        }
        pool.execute(() -> {
            try {
                if (failure.get() == null) {
                    task.run();
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                p.latch().countDown();
                inFlight.release();
            }
        });
        report(false);
    }

    /** Waits for every queued task; reports the remaining tensors; throws the first failure. */
    void finish() throws IOException {
        quiesce();
        throwIfFailed();
        report(true);
    }

    /** Waits for every queued task to end, without throwing (before an output is discarded). */
    void quiesce() {
        inFlight.acquireUninterruptibly(permits);
        inFlight.release(permits);
        syncing.acquireUninterruptibly(); // no task is left to start another
        syncing.release();
    }

    private void report(boolean all) {
        while (!pending.isEmpty() && (all || pending.peek().latch().getCount() == 0)) {
            Pending p = pending.poll();
            if (failure.get() == null) {
                onDone.done(p.name(), p.bytes());
            }
        }
    }

    private void throwIfFailed() throws IOException {
        Throwable t = failure.get();
        switch (t) {
            case null -> { }
            case IOException e -> throw e;
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new IllegalStateException(t);
        }
    }

    /** A pooled native buffer of at least {@code bytes} (one per running task). */
    private MemorySegment buffer(long bytes) {
        MemorySegment b = buffers.poll();
        if (b == null || b.byteSize() < bytes) {
            b = arena.allocate(Math.max(bytes, TASK_BYTES), 64);
        }
        return b;
    }

    private void release(MemorySegment buffer) {
        buffers.offer(buffer);
    }

    private static void unload(MemorySegment input) {
        if (input.isMapped() && input.byteSize() > 0) {
            input.unload();
        }
    }

    @Override
    public void close() {
        quiesce();
        pool.shutdown();
        syncer.shutdown();
        arena.close();
    }
}
