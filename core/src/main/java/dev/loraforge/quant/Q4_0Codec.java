package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

/**
 * Q4_0: 32 values, {@code block_q4_0 { ggml_half d; uint8_t qs[16]; }}; d = max/-8 where max is the
 * first value of largest magnitude, q = min(15, (int8_t)(x/d + 8.5)); value j in the low nibble of
 * qs[j], value j+16 in the high nibble.
 */
final class Q4_0Codec extends BlockCodec {
    static final Q4_0Codec SCALAR = new Q4_0Codec(false);
    static final Q4_0Codec VECTOR = new Q4_0Codec(true);
    private static final int QK = 32;

    private final boolean vector;

    private Q4_0Codec(boolean vector) {
        super(GgmlType.Q4_0);
        this.vector = vector;
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        if (vector) {
            QuantVectors.quantizeQ4_0(x, xOff, out);
            return;
        }
        float amax = 0.0f;
        float max = 0.0f;
        for (int j = 0; j < QK; j++) {
            float v = x[xOff + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, 0, d);
        for (int j = 0; j < QK / 2; ++j) {
            float x0 = x[xOff + j] * id;
            float x1 = x[xOff + QK / 2 + j] * id;
            int xi0 = Math.min(15, (byte) GgmlFloat.truncToInt(x0 + 8.5f));
            int xi1 = Math.min(15, (byte) GgmlFloat.truncToInt(x1 + 8.5f));
            out[2 + j] = (byte) ((xi0 & 0xFF) | (xi1 << 4));
        }
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, 0);
        if (vector) {
            QuantVectors.dequantizeQ4_0(in, d, y, yOff);
            return;
        }
        for (int j = 0; j < QK / 2; ++j) {
            int x0 = (in[2 + j] & 0x0F) - 8;
            int x1 = ((in[2 + j] & 0xFF) >> 4) - 8;
            y[yOff + j] = x0 * d;
            y[yOff + j + QK / 2] = x1 * d;
        }
    }
}
