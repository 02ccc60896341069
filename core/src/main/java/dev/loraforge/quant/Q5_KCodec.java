package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

/**
 * Q5_K: 256 values in 8 groups of 32,
 * {@code block_q5_K { ggml_half d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; }};
 * scales as Q4_K, 5-bit quants as a nibble in qs plus a high bit in qh.
 */
final class Q5_KCodec extends BlockCodec {
    static final Q5_KCodec SCALAR = new Q5_KCodec(false);
    static final Q5_KCodec VECTOR = new Q5_KCodec(true);
    private static final int QK_K = 256;
    private static final int QH = 16;
    private static final int QS = 48;

    private final boolean vector;

    private Q5_KCodec(boolean vector) {
        super(GgmlType.Q5_K);
        this.vector = vector;
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        byte[] lq = vector ? Q4_KCodec.LANES.get().levels() : new byte[QK_K];
        Q4_KCodec.quantizeScales(x, xOff, out, lq, 31, -0.5f, 0.1f, 15, vector);
        for (int k = 0; k < QK_K / 8; k++) {
            out[QH + k] = 0;
        }
        int m1 = 1;
        int m2 = 2;
        int ql = QS;
        for (int n = 0; n < QK_K; n += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = lq[n + j];
                if (l1 > 15) {
                    l1 -= 16;
                    out[QH + j] |= (byte) m1;
                }
                int l2 = lq[n + j + 32];
                if (l2 > 15) {
                    l2 -= 16;
                    out[QH + j] |= (byte) m2;
                }
                out[ql + j] = (byte) (l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
            ql += 32;
        }
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, Q4_KCodec.D);
        float min = getHalf(in, Q4_KCodec.DMIN);
        int ql = QS;
        int is = 0;
        int u1 = 1;
        int u2 = 2;
        int yi = yOff;
        for (int j = 0; j < QK_K; j += 64) {
            float d1 = d * Q4_KCodec.scaleK4(in, is);
            float m1 = min * Q4_KCodec.minK4(in, is);
            float d2 = d * Q4_KCodec.scaleK4(in, is + 1);
            float m2 = min * Q4_KCodec.minK4(in, is + 1);
            if (vector) {
                QuantVectors.dequantizeQ5_K(in, ql, QH, u1, u2, d1, m1, d2, m2, y, yi);
                yi += 64;
            } else {
                for (int l = 0; l < 32; ++l) {
                    y[yi++] = d1 * ((in[ql + l] & 0xF) + ((in[QH + l] & u1) != 0 ? 16 : 0)) - m1;
                }
                for (int l = 0; l < 32; ++l) {
                    y[yi++] = d2 * (((in[ql + l] & 0xFF) >> 4) + ((in[QH + l] & u2) != 0 ? 16 : 0)) - m2;
                }
            }
            ql += 32;
            is += 2;
            u1 <<= 2;
            u2 <<= 2;
        }
    }
}
