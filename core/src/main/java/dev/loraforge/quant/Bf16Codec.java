package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/** BF16: {@code ggml_fp32_to_bf16_row_ref}, i.e. {@code GGML_FP32_TO_BF16} per value. */
final class Bf16Codec extends BlockCodec {
    static final Bf16Codec INSTANCE = new Bf16Codec();
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Bf16Codec() {
        super(GgmlType.BF16);
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        checkRange(src.length, srcOff, n);
        Objects.checkFromIndexSize(dstOff, 2L * n, dst.byteSize());
        for (int i = 0; i < n; i++) {
            dst.set(LE, dstOff + 2L * i, GgmlFloat.fp32ToBf16(src[srcOff + i]));
        }
    }

    @Override
    public void dequantize(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkRange(dst.length, dstOff, n);
        Objects.checkFromIndexSize(srcOff, 2L * n, src.byteSize());
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = GgmlFloat.bf16ToFp32(src.get(LE, srcOff + 2L * i));
        }
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        putShort(out, 0, GgmlFloat.fp32ToBf16(x[xOff]));
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        y[yOff] = GgmlFloat.bf16ToFp32(getShort(in, 0));
    }
}
