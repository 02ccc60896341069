package dev.loraforge.merge;

import dev.loraforge.format.safetensors.SafetensorsWriter;
import dev.loraforge.io.Piece;
import dev.loraforge.tensor.DType;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Streams output tensors to their files in tasks of about {@value #TASK_BYTES} output bytes on one worker
 * per core. A task computes its rows (or converts or copies its elements) into a piece of the output
 * ({@link SafetensorsWriter.Slot#piece}: a pooled buffer written by background threads, direct to the disk),
 * then drops the input pages it read from the process ({@code unload}: madvise DONTNEED; the page cache keeps
 * them). So memory stays a few buffers whatever the model size, and computing overlaps writing.
 * Tasks of the next tensors are queued while the current ones run, so reading, computing and writing of
 * neighbouring tensors overlap; completion is reported in tensor order on the submitting thread (a tensor
 * counts as done when its pieces are handed to the writer).
 *
 * <p>Workers are never interrupted: an interrupt would close the shared output channel.
 */
final class MergePipeline implements AutoCloseable {
    static final long TASK_BYTES = 1L << 20;
    static final long COPY_BYTES = 4L << 20;

    /** Called on the submitting thread when all of a tensor's bytes are written, in submission order. */
    @FunctionalInterface
    interface TensorDone {
        void done(String name, long bytes);
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
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

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
                        try (Piece piece = slot.piece(r0 * rowBytes, (r1 - r0) * rowBytes)) {
                            merger.merge(r0, r1, piece.segment());
                            piece.write();
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
                    try (Piece piece = slot.piece(at, part.byteSize())) {
                        MemorySegment.copy(part, 0, piece.segment(), 0, part.byteSize());
                        piece.write();
                    }
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
                try (Piece piece = slot.piece(e0 * outBytes, (long) len * outBytes)) {
                    TensorMerge.convertRange(src, outType, e0, len, piece.segment());
                    piece.write();
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

    private static void unload(MemorySegment input) {
        if (input.isMapped() && input.byteSize() > 0) {
            input.unload();
        }
    }

    @Override
    public void close() {
        quiesce();
        pool.shutdown();
    }
}
