package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/** F16: {@code ggml_fp32_to_fp16_row}, i.e. {@code GGML_FP32_TO_FP16} per value. */
final class F16Codec extends BlockCodec {
    static final F16Codec INSTANCE = new F16Codec();
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private F16Codec() {
        super(GgmlType.F16);
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        checkRange(src.length, srcOff, n);
        Objects.checkFromIndexSize(dstOff, 2L * n, dst.byteSize());
        for (int i = 0; i < n; i++) {
            dst.set(LE, dstOff + 2L * i, GgmlFloat.fp32ToFp16(src[srcOff + i]));
        }
    }

    @Override
    public void dequantize(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkRange(dst.length, dstOff, n);
        Objects.checkFromIndexSize(srcOff, 2L * n, src.byteSize());
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = GgmlFloat.fp16ToFp32(src.get(LE, srcOff + 2L * i));
        }
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        putShort(out, 0, GgmlFloat.fp32ToFp16(x[xOff]));
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        y[yOff] = GgmlFloat.fp16ToFp32(getShort(in, 0));
    }
}
