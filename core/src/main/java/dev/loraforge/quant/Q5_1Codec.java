package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

/**
 * Q5_1: 32 values, {@code block_q5_1 { ggml_half d, m; uint8_t qh[4]; uint8_t qs[16]; }}; m = min,
 * d = (max - min)/31, q = (uint8_t)((x - min)/d + 0.5) (no clamp, as in ggml).
 */
final class Q5_1Codec extends BlockCodec {
    static final Q5_1Codec SCALAR = new Q5_1Codec(false);
    static final Q5_1Codec VECTOR = new Q5_1Codec(true);
    private static final int QK = 32;

    private final boolean vector;

    private Q5_1Codec(boolean vector) {
        super(GgmlType.Q5_1);
        this.vector = vector;
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < QK; j++) {
            float v = x[xOff + j];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
        }
        float d = (max - min) / ((1 << 5) - 1);
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, 0, d);
        putHalf(out, 2, min);
        int qh = 0;
        for (int j = 0; j < QK / 2; ++j) {
            float x0 = (x[xOff + j] - min) * id;
            float x1 = (x[xOff + QK / 2 + j] - min) * id;
            int xi0 = GgmlFloat.truncToInt(x0 + 0.5f) & 0xFF;
            int xi1 = GgmlFloat.truncToInt(x1 + 0.5f) & 0xFF;
            out[8 + j] = (byte) ((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10) >>> 4) << j;
            qh |= ((xi1 & 0x10) >>> 4) << (j + QK / 2);
        }
        Q5_0Codec.putQh(out, 4, qh);
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, 0);
        float m = getHalf(in, 2);
        int qh = Q5_0Codec.getQh(in, 4);
        if (vector) {
            QuantVectors.dequantizeLegacy(in, 8, true, qh, 0, d, m, true, y, yOff);
            return;
        }
        for (int j = 0; j < QK / 2; ++j) {
            int xh0 = ((qh >>> j) << 4) & 0x10;
            int xh1 = (qh >>> (j + 12)) & 0x10;
            int x0 = (in[8 + j] & 0x0F) | xh0;
            int x1 = ((in[8 + j] & 0xFF) >> 4) | xh1;
            y[yOff + j] = x0 * d + m;
            y[yOff + j + QK / 2] = x1 * d + m;
        }
    }
}
