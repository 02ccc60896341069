package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import static dev.loraforge.quant.GgmlFloat.nearestInt;

/**
 * Q2_K: 256 values in 16 groups of 16,
 * {@code block_q2_K { uint8_t scales[16]; uint8_t qs[64]; ggml_half d, dmin; }}; each scales byte holds
 * a 4-bit scale (low) and a 4-bit min (high), each 2-bit quant q gives d·sc·q - dmin·m.
 */
final class Q2_KCodec extends BlockCodec {
    static final Q2_KCodec SCALAR = new Q2_KCodec(false);
    static final Q2_KCodec VECTOR = new Q2_KCodec(true);
    private static final int QK_K = 256;
    private static final int SCALES = 0;
    private static final int QS = 16;
    private static final int D = 80;
    private static final int DMIN = 82;

    private final boolean vector;

    private Q2_KCodec(boolean vector) {
        super(GgmlType.Q2_K);
        this.vector = vector;
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        byte[] lq = new byte[QK_K];
        byte[] laux = new byte[16];
        float[] weights = new float[16];
        float[] mins = new float[QK_K / 16];
        float[] scales = new float[QK_K / 16];
        float[] theMin = new float[1];
        final float q4scale = 15.f;

        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) {
                weights[l] = Math.abs(x[xOff + 16 * j + l]);
            }
            scales[j] = KQuantSearch.makeQkx2Quants(16, 3, x, xOff + 16 * j, weights, lq, 16 * j, theMin, laux,
                    -0.5f, 0.1f, 15, true);
            mins[j] = theMin[0];
            float scale = scales[j];
            if (scale > maxScale) {
                maxScale = scale;
            }
            float min = mins[j];
            if (min > maxMin) {
                maxMin = min;
            }
        }
        if (maxScale > 0) {
            float iscale = q4scale / maxScale;
            for (int j = 0; j < QK_K / 16; ++j) {
                out[SCALES + j] = (byte) nearestInt(iscale * scales[j]);
            }
            putHalf(out, D, maxScale / q4scale);
        } else {
            for (int j = 0; j < QK_K / 16; ++j) {
                out[SCALES + j] = 0;
            }
            putHalf(out, D, 0.f);
        }
        if (maxMin > 0) {
            float iscale = q4scale / maxMin;
            for (int j = 0; j < QK_K / 16; ++j) {
                int l = nearestInt(iscale * mins[j]);
                out[SCALES + j] |= (byte) (l << 4);
            }
            putHalf(out, DMIN, maxMin / q4scale);
        } else {
            putHalf(out, DMIN, 0.f);
        }
        float dAll = getHalf(out, D);
        float dminAll = getHalf(out, DMIN);
        for (int j = 0; j < QK_K / 16; ++j) {
            int sc = out[SCALES + j] & 0xFF;
            float d = dAll * (sc & 0xF);
            if (d == 0) {
                continue;
            }
            float dm = dminAll * (sc >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt((x[xOff + 16 * j + ii] + dm) / d);
                lq[16 * j + ii] = (byte) Math.max(0, Math.min(3, l));
            }
        }
        pack2(lq, out, QS);
    }

    /** Packs 256 2-bit values: byte j/4+l of each 128-half holds values l, l+32, l+64, l+96. */
    static void pack2(byte[] lq, byte[] out, int qs) {
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                out[qs + j / 4 + l] = (byte) (lq[j + l] | (lq[j + l + 32] << 2) | (lq[j + l + 64] << 4) | (lq[j + l + 96] << 6));
            }
        }
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, D);
        float min = getHalf(in, DMIN);
        int q = QS;
        int is = 0;
        int yi = yOff;
        for (int n = 0; n < QK_K; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                int sc = in[SCALES + is++] & 0xFF;
                float dl = d * (sc & 0xF);
                float ml = min * (sc >> 4);
                if (vector) {
                    QuantVectors.dequantize2Bit(in, q, shift, dl, ml, -1, 0, y, yi);
                    yi += 16;
                } else {
                    for (int l = 0; l < 16; ++l) {
                        y[yi++] = dl * (((in[q + l] & 0xFF) >> shift) & 3) - ml;
                    }
                }
                sc = in[SCALES + is++] & 0xFF;
                dl = d * (sc & 0xF);
                ml = min * (sc >> 4);
                if (vector) {
                    QuantVectors.dequantize2Bit(in, q + 16, shift, dl, ml, -1, 0, y, yi);
                    yi += 16;
                } else {
                    for (int l = 0; l < 16; ++l) {
                        y[yi++] = dl * (((in[q + l + 16] & 0xFF) >> shift) & 3) - ml;
                    }
                }
                shift += 2;
            }
            q += 32;
        }
    }
}
