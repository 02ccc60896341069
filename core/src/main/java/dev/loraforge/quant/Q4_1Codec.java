package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

/**
 * Q4_1: 32 values, {@code block_q4_1 { ggml_half d, m; uint8_t qs[16]; }}; m = min,
 * d = (max - min)/15, q = min(15, (int8_t)((x - min)/d + 0.5)).
 */
final class Q4_1Codec extends BlockCodec {
    static final Q4_1Codec SCALAR = new Q4_1Codec(false);
    static final Q4_1Codec VECTOR = new Q4_1Codec(true);
    private static final int QK = 32;

    private final boolean vector;

    private Q4_1Codec(boolean vector) {
        super(GgmlType.Q4_1);
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
        float d = (max - min) / ((1 << 4) - 1);
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, 0, d);
        putHalf(out, 2, min);
        for (int j = 0; j < QK / 2; ++j) {
            float x0 = (x[xOff + j] - min) * id;
            float x1 = (x[xOff + QK / 2 + j] - min) * id;
            int xi0 = Math.min(15, (byte) GgmlFloat.truncToInt(x0 + 0.5f));
            int xi1 = Math.min(15, (byte) GgmlFloat.truncToInt(x1 + 0.5f));
            out[4 + j] = (byte) ((xi0 & 0xFF) | (xi1 << 4));
        }
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, 0);
        float m = getHalf(in, 2);
        if (vector) {
            QuantVectors.dequantizeLegacy(in, 4, false, 0, 0, d, m, true, y, yOff);
            return;
        }
        for (int j = 0; j < QK / 2; ++j) {
            int x0 = in[4 + j] & 0x0F;
            int x1 = (in[4 + j] & 0xFF) >> 4;
            y[yOff + j] = x0 * d + m;
            y[yOff + j + QK / 2] = x1 * d + m;
        }
    }
}
