package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

/**
 * Q5_0: 32 values, {@code block_q5_0 { ggml_half d; uint8_t qh[4]; uint8_t qs[16]; }}; d = max/-16,
 * q = min(31, (int8_t)(x/d + 16.5)); the fifth bits go to qh (bit j for value j).
 */
final class Q5_0Codec extends BlockCodec {
    static final Q5_0Codec SCALAR = new Q5_0Codec(false);
    static final Q5_0Codec VECTOR = new Q5_0Codec(true);
    private static final int QK = 32;

    private final boolean vector;

    private Q5_0Codec(boolean vector) {
        super(GgmlType.Q5_0);
        this.vector = vector;
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        float amax = 0.0f;
        float max = 0.0f;
        for (int j = 0; j < QK; j++) {
            float v = x[xOff + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -16;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, 0, d);
        int qh = 0;
        for (int j = 0; j < QK / 2; ++j) {
            float x0 = x[xOff + j] * id;
            float x1 = x[xOff + QK / 2 + j] * id;
            int xi0 = Math.min(31, (byte) GgmlFloat.truncToInt(x0 + 16.5f)) & 0xFF;
            int xi1 = Math.min(31, (byte) GgmlFloat.truncToInt(x1 + 16.5f)) & 0xFF;
            out[6 + j] = (byte) ((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10) >>> 4) << j;
            qh |= ((xi1 & 0x10) >>> 4) << (j + QK / 2);
        }
        putQh(out, 2, qh);
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, 0);
        int qh = getQh(in, 2);
        if (vector) {
            QuantVectors.dequantizeLegacy(in, 6, true, qh, 16, d, 0f, false, y, yOff);
            return;
        }
        for (int j = 0; j < QK / 2; ++j) {
            int xh0 = ((qh >>> j) << 4) & 0x10;
            int xh1 = (qh >>> (j + 12)) & 0x10;
            int x0 = ((in[6 + j] & 0x0F) | xh0) - 16;
            int x1 = (((in[6 + j] & 0xFF) >> 4) | xh1) - 16;
            y[yOff + j] = x0 * d;
            y[yOff + j + QK / 2] = x1 * d;
        }
    }

    static void putQh(byte[] b, int off, int qh) {
        b[off] = (byte) qh;
        b[off + 1] = (byte) (qh >>> 8);
        b[off + 2] = (byte) (qh >>> 16);
        b[off + 3] = (byte) (qh >>> 24);
    }

    static int getQh(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16 | (b[off + 3] & 0xFF) << 24;
    }
}
