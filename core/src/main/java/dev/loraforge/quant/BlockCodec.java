package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Shared driver of the block codecs: walks the row block by block, encoding each block into a small
 * byte array laid out exactly like ggml's {@code block_*} struct and copying it to the segment.
 */
abstract class BlockCodec implements GgmlCodec {
    private final GgmlType type;

    BlockCodec(GgmlType type) {
        this.type = type;
    }

    @Override
    public final GgmlType type() {
        return type;
    }

    /** Encodes {@code type().blockSize()} floats from {@code x[xOff..]} into {@code out}. */
    abstract void quantizeBlock(float[] x, int xOff, byte[] out);

    /** Decodes one block from {@code in} into {@code y[yOff..]}. */
    abstract void dequantizeBlock(byte[] in, float[] y, int yOff);

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        checkRange(src.length, srcOff, n);
        long bytes = type.rowSize(n);
        Objects.checkFromIndexSize(dstOff, bytes, dst.byteSize());
        int qk = type.blockSize();
        int size = type.typeSize();
        // blocks are staged into a reused row buffer and copied once per row: a copy per block costs more
        // garbage (segment wrappers) than the values it carries
        byte[] staged = staging(size);
        int perStage = staged.length / size;
        byte[] block = new byte[size];
        long at = dstOff;
        int k = 0;
        for (int i = 0; i < n; i += qk) {
            quantizeBlock(src, srcOff + i, block);
            System.arraycopy(block, 0, staged, k * size, size);
            if (++k == perStage || i + qk >= n) {
                MemorySegment.copy(staged, 0, dst, ValueLayout.JAVA_BYTE, at, k * size);
                at += (long) k * size;
                k = 0;
            }
        }
    }

    private static final int STAGING_BYTES = 1 << 14;
    private static final ThreadLocal<byte[]> STAGING = ThreadLocal.withInitial(() -> new byte[STAGING_BYTES]);

    private static byte[] staging(int blockSize) {
        byte[] b = STAGING.get();
        if (b.length < 2 * blockSize) {
            b = new byte[2 * blockSize];
            STAGING.set(b);
        }
        return b;
    }

    @Override
    public void dequantize(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkRange(dst.length, dstOff, n);
        long bytes = type.rowSize(n);
        Objects.checkFromIndexSize(srcOff, bytes, src.byteSize());
        int qk = type.blockSize();
        byte[] block = new byte[type.typeSize()];
        long at = srcOff;
        for (int i = 0; i < n; i += qk) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, at, block, 0, block.length);
            dequantizeBlock(block, dst, dstOff + i);
            at += block.length;
        }
    }

    final void checkRange(int length, int off, int n) {
        Objects.checkFromIndexSize(off, n, length);
        if (n % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + ": " + n + " values is not a multiple of the block size " + type.blockSize());
        }
    }

    static void putShort(byte[] b, int off, short v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >> 8);
    }

    static short getShort(byte[] b, int off) {
        return (short) ((b[off] & 0xFF) | (b[off + 1] << 8));
    }

    static void putHalf(byte[] b, int off, float v) {
        putShort(b, off, GgmlFloat.fp32ToFp16(v));
    }

    static float getHalf(byte[] b, int off) {
        return GgmlFloat.fp16ToFp32(getShort(b, off));
    }
}
