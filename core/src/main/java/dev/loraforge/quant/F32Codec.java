package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/** F32: little-endian IEEE single, stored as is. */
final class F32Codec extends BlockCodec {
    static final F32Codec INSTANCE = new F32Codec();
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private F32Codec() {
        super(GgmlType.F32);
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        checkRange(src.length, srcOff, n);
        Objects.checkFromIndexSize(dstOff, 4L * n, dst.byteSize());
        MemorySegment.copy(src, srcOff, dst, LE, dstOff, n);
    }

    @Override
    public void dequantize(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkRange(dst.length, dstOff, n);
        Objects.checkFromIndexSize(srcOff, 4L * n, src.byteSize());
        MemorySegment.copy(src, LE, srcOff, dst, dstOff, n);
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        int v = Float.floatToRawIntBits(x[xOff]);
        out[0] = (byte) v;
        out[1] = (byte) (v >> 8);
        out[2] = (byte) (v >> 16);
        out[3] = (byte) (v >> 24);
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        y[yOff] = Float.intBitsToFloat((in[0] & 0xFF) | (in[1] & 0xFF) << 8 | (in[2] & 0xFF) << 16 | in[3] << 24);
    }
}
