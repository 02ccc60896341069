package dev.loraforge.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * A buffer for a run of an output file's bytes: fill {@link #segment()}, then {@link #write()} it. The buffer
 * belongs to the writer from then on. Closing a piece that was never written gives its buffer back.
 */
public interface Piece extends AutoCloseable {
    /** The bytes to fill (exactly the run's length). */
    MemorySegment segment();

    /** Hands the filled bytes to the writer; they may reach the file later (see the writer's flush). */
    void write() throws IOException;

    /** Gives the buffer back if {@link #write()} was not called; no-op otherwise. */
    @Override
    void close();

    /** A piece that is the destination itself: filling it is writing it (an in-memory output). */
    static Piece of(MemorySegment destination) {
        return new Piece() {
            @Override
            public MemorySegment segment() {
                return destination;
            }

            @Override
            public void write() {
            }

            @Override
            public void close() {
            }
        };
    }
}
