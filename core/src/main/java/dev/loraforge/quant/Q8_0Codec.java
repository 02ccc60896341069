package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

/**
 * Q8_0: 32 values, {@code block_q8_0 { ggml_half d; int8_t qs[32]; }}, d = amax/127, q = roundf(x/d).
 * The vector kernel only speeds up the order-free parts (abs max, x·id, the int8 widening).
 */
final class Q8_0Codec extends BlockCodec {
    static final Q8_0Codec SCALAR = new Q8_0Codec(false);
    static final Q8_0Codec VECTOR = new Q8_0Codec(true);
    private static final int QK = 32;

    private final boolean vector;

    private Q8_0Codec(boolean vector) {
        super(GgmlType.Q8_0);
        this.vector = vector;
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        if (vector) {
            QuantVectors.quantizeQ8_0(x, xOff, out);
            return;
        }
        float amax = 0.0f;
        for (int j = 0; j < QK; j++) {
            float v = Math.abs(x[xOff + j]);
            amax = amax > v ? amax : v; // C's MAX macro, also for NaN
        }
        float d = amax / ((1 << 7) - 1);
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, 0, d);
        for (int j = 0; j < QK; ++j) {
            float x0 = x[xOff + j] * id;
            out[2 + j] = (byte) GgmlFloat.truncToInt(GgmlFloat.roundf(x0));
        }
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, 0);
        if (vector) {
            QuantVectors.dequantizeQ8_0(in, d, y, yOff);
            return;
        }
        for (int j = 0; j < QK; ++j) {
            y[yOff + j] = in[2 + j] * d;
        }
    }
}
