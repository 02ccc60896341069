package dev.loraforge.io;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Positioned writes of one file, done by background threads while the callers compute the next bytes.
 * Callers {@link #take} a pooled buffer for a run of the file, fill it and {@link Piece#write()} it; taking
 * blocks while every buffer is queued or being written, which bounds the memory.
 *
 * <p>The whole 4 KiB blocks of a piece go out by direct I/O (O_DIRECT) where the file system allows it:
 * no copy into the page cache, no write-back afterwards (buffered write-back of a 2 GB file ran at a fifth
 * of the disk's direct-write rate on the benchmark machines), and the final fsync has almost nothing left to
 * do. A buffer is placed so that its address matches the file position modulo the block size, as direct
 * I/O requires. The partial blocks at a piece's ends, which may share a block with a neighbouring piece,
 * go through the page cache, so no block is ever written both ways.
 *
 * <p>The threads are never interrupted: an interrupt would close the caller's channel.
 */
public final class WriteBehind implements AutoCloseable {
    /** Block alignment of direct writes. */
    public static final int BLOCK = 4096;
    /** Bytes written through the page cache after which a writer thread syncs them (so the final sync is short). */
    static final long SYNC_BYTES = 256L << 20;

    private final FileChannel buffered;
    private final FileChannel direct;
    private final ExecutorService threads;
    private final int buffers;
    private final Semaphore free;
    private final ConcurrentLinkedQueue<Slab> pool = new ConcurrentLinkedQueue<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicLong unsynced = new AtomicLong();
    private boolean closed;

    /** A buffer from its own arena, so a too-small one can be freed when a larger one replaces it. */
    private record Slab(Arena arena, MemorySegment raw) {
        long capacity() {
            return raw.byteSize() - BLOCK;
        }
    }

    private WriteBehind(FileChannel buffered, FileChannel direct, int threadCount, int buffers) {
        this.buffered = buffered;
        this.direct = direct;
        this.buffers = buffers;
        this.free = new Semaphore(buffers);
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newFixedThreadPool(threadCount, r -> {
            Thread t = new Thread(r, "loraforge-write-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Writes to {@code file} through {@code channel} (which stays the caller's to close) and, for whole
     * blocks, a direct channel of its own when the file system supports one.
     * @param threadCount writes in flight at once (two keep a disk busy)
     * @param buffers     buffers in all: the callers' pieces being filled plus those queued
     */
    public static WriteBehind open(Path file, FileChannel channel, int threadCount, int buffers) {
        if (threadCount < 1 || buffers < 1) {
            throw new IllegalArgumentException(threadCount + " threads, " + buffers + " buffers");
        }
        return new WriteBehind(channel, openDirect(file), threadCount, buffers);
    }

    /** One writer thread per core (at least two) and enough buffers for every computing thread and writer. */
    public static WriteBehind open(Path file, FileChannel channel) {
        int cores = Runtime.getRuntime().availableProcessors();
        int threadCount = Math.max(2, cores);
        return open(file, channel, threadCount, cores + threadCount + 2);
    }

    private static FileChannel openDirect(Path file) {
        try {
            long block = Files.getFileStore(file).getBlockSize();
            if (block > 0 && BLOCK % block == 0) {
                return FileChannel.open(file, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
            }
        } catch (IOException | UnsupportedOperationException e) {
            // buffered writes only
        }
        return null;
    }

    /**
     * A buffer for the {@code bytes} bytes at file position {@code position}; blocks while none is free.
     * @throws IOException an earlier write's failure (nothing more is written after one)
     */
    public Piece take(long position, long bytes) throws IOException {
        if (position < 0 || bytes < 0) {
            throw new IllegalArgumentException(bytes + " bytes at " + position);
        }
        throwIfFailed();
        try {
            free.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a write buffer");
        }
        Slab s = pool.poll();
        try {
            if (s == null || s.capacity() < bytes) {
                if (s != null) {
                    s.arena().close();
                }
                Arena a = Arena.ofShared();
                s = new Slab(a, a.allocate(Math.max(bytes, 1) + BLOCK, BLOCK));
            }
        } catch (RuntimeException | Error e) {
            free.release();
            throw e;
        }
        return new Queued(s, position, s.raw().asSlice(Math.floorMod(position, (long) BLOCK), bytes));
    }

    private final class Queued implements Piece {
        private final Slab slab;
        private final long position;
        private final MemorySegment bytes;
        private boolean handed;

        Queued(Slab slab, long position, MemorySegment bytes) {
            this.slab = slab;
            this.position = position;
            this.bytes = bytes;
        }

        @Override
        public MemorySegment segment() {
            return bytes;
        }

        @Override
        public void write() throws IOException {
            if (handed) {
                throw new IllegalStateException("piece at " + position + " already handed back");
            }
            handed = true;
            try {
                threads.execute(() -> {
                    try {
                        if (failure.get() == null) {
                            writeAt(position, bytes);
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    } finally {
                        giveBack(slab);
                    }
                });
            } catch (RuntimeException e) {
                giveBack(slab); // rejected: the writer is closed
                throw new IOException("output closed while writing at " + position, e);
            }
        }

        @Override
        public void close() {
            if (!handed) {
                handed = true;
                giveBack(slab);
            }
        }
    }

    private void giveBack(Slab s) {
        pool.offer(s);
        free.release();
    }

    /**
     * Writes {@code src} (native or over a byte[]) at {@code position} now, on the calling thread, in the same
     * way: whole blocks direct when {@code src} is native and placed like the position, the rest through the
     * page cache.
     */
    public void writeAt(long position, MemorySegment src) throws IOException {
        long n = src.byteSize();
        long head = Math.min(n, Math.floorMod(-position, (long) BLOCK));
        long body = (n - head) / BLOCK * BLOCK;
        if (direct == null || body == 0 || !src.isNative() || (src.address() + head) % BLOCK != 0) {
            writeBuffered(src, position);
            return;
        }
        writeBuffered(src.asSlice(0, head), position);
        try {
            writeFully(direct, src.asSlice(head, body), position + head);
        } catch (IOException e) {
            // a device that refuses this direct write (alignment rules beyond the block size), or a full disk
            // (which the buffered write then reports): through the page cache
            writeBuffered(src.asSlice(head, body), position + head);
        }
        writeBuffered(src.asSlice(head + body), position + head + body);
    }

    private void writeBuffered(MemorySegment src, long position) throws IOException {
        if (src.byteSize() == 0) {
            return;
        }
        writeFully(buffered, src, position);
        if (unsynced.addAndGet(src.byteSize()) >= SYNC_BYTES) {
            unsynced.set(0);
            buffered.force(false); // write-back now, in this writer thread, instead of all at the commit
        }
    }

    /** Waits until every handed piece is written. @throws IOException the first write's failure */
    public void flush() throws IOException {
        free.acquireUninterruptibly(buffers);
        free.release(buffers);
        throwIfFailed();
    }

    /** Waits for the writes under way, stops the threads and frees the buffers; the caller's channel stays open. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        threads.shutdown();
        boolean done = false;
        boolean interrupted = false;
        while (!done) {
            try {
                done = threads.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                interrupted = true; // keep waiting: the writes use the buffers freed below
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        for (Slab s; (s = pool.poll()) != null; ) {
            s.arena().close();
        }
        if (direct != null) {
            try {
                direct.close();
            } catch (IOException e) {
                failure.compareAndSet(null, e);
            }
        }
    }

    private void throwIfFailed() throws IOException {
        Throwable t = failure.get();
        switch (t) {
            case null -> { }
            case IOException e -> throw new IOException(e.getMessage(), e);
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new IllegalStateException(t);
        }
    }

    private static void writeFully(FileChannel ch, MemorySegment src, long position) throws IOException {
        // ByteBuffer views hold at most 2 GiB
        for (long done = 0; done < src.byteSize(); ) {
            long n = Math.min(1L << 30, src.byteSize() - done);
            ByteBuffer b = src.asSlice(done, n).asByteBuffer();
            while (b.hasRemaining()) {
                position += ch.write(b, position);
            }
            done += n;
        }
    }
}
