package dev.loraforge.convert;

import java.lang.foreign.MemorySegment;

/** Quantizes one row of {@code n} floats (a multiple of the block size) into {@code dst} at {@code dstOff}. */
@FunctionalInterface
public interface RowQuantizer {
    void quantize(float[] src, int n, MemorySegment dst, long dstOff);
}
