package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import java.util.Arrays;

import static dev.loraforge.quant.GgmlFloat.nearestInt;

/**
 * Q6_K: 256 values in 16 groups of 16,
 * {@code block_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d; }};
 * value = d·scale·(q - 32) with 6-bit q split into a nibble (ql) and two high bits (qh).
 * The vector kernel runs the groups' scale searches 8 side by side, each in C's order ({@link KQuantLanes}).
 */
final class Q6_KCodec extends BlockCodec {
    static final Q6_KCodec SCALAR = new Q6_KCodec(false);
    static final Q6_KCodec VECTOR = new Q6_KCodec(true);
    private static final int QK_K = 256;
    private static final int QL = 0;
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;

    private final boolean vector;

    private Q6_KCodec(boolean vector) {
        super(GgmlType.Q6_K);
        this.vector = vector;
    }

    /**
     * Per-thread scratch of the vector path (no garbage per block): transposed copies of half a super-block
     * (8 groups) for {@link KQuantLanes}, and the block's levels and scales.
     */
    private record Lanes(float[] xt, float[] lq, float[] laux, float[] scale, float[] state, byte[] levels,
                         float[] scales) {
        Lanes() {
            this(new float[128], new float[128], new float[128], new float[8], new float[KQuantLanes.STATE],
                    new byte[QK_K], new float[QK_K / 16]);
        }
    }

    private static final ThreadLocal<Lanes> LANES = ThreadLocal.withInitial(Lanes::new);

    /** The 16 groups' {@code make_qx_quants} searches, 8 at a time, one group per lane. */
    private static void searchLanes(Lanes t, float[] x, int xOff, byte[] lq, float[] scales) {
        for (int half = 0; half < 2; ++half) {
            int g0 = 8 * half;
            for (int k = 0; k < 8; ++k) {
                for (int i = 0; i < 16; ++i) {
                    t.xt[i * 8 + k] = x[xOff + 16 * (g0 + k) + i];
                }
            }
            KQuantLanes.makeQxQuants(16, 32, t.xt, t.lq, t.laux, t.scale, t.state);
            for (int k = 0; k < 8; ++k) {
                scales[g0 + k] = t.scale[k];
                for (int i = 0; i < 16; ++i) {
                    lq[16 * (g0 + k) + i] = (byte) t.lq[i * 8 + k];
                }
            }
        }
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        Lanes t = vector ? LANES.get() : null;
        byte[] lq = vector ? t.levels : new byte[QK_K];
        float[] scales = vector ? t.scales : new float[QK_K / 16];
        float maxScale = 0;
        float maxAbsScale = 0;
        if (vector) {
            searchLanes(t, x, xOff, lq, scales);
        }
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            float scale = vector ? scales[ib] : KQuantSearch.makeQxQuants(16, 32, x, xOff + 16 * ib, lq, 16 * ib);
            scales[ib] = scale;
            float absScale = Math.abs(scale);
            if (absScale > maxAbsScale) {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }
        if (maxAbsScale < KQuantSearch.GROUP_MAX_EPS) {
            Arrays.fill(out, (byte) 0);
            putHalf(out, D, 0.f);
            return;
        }
        float iscale = -128.f / maxScale;
        putHalf(out, D, 1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            out[SCALES + ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
        }
        float dAll = getHalf(out, D);
        for (int j = 0; j < QK_K / 16; ++j) {
            float d = dAll * out[SCALES + j];
            if (d == 0) {
                continue;
            }
            if (vector) {
                QuantVectors.requantizeSymmetric(x, xOff + 16 * j, d, lq, 16 * j);
                continue;
            }
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[xOff + 16 * j + ii] / d);
                l = Math.max(-32, Math.min(31, l));
                lq[16 * j + ii] = (byte) (l + 32);
            }
        }
        int ql = QL;
        int qh = QH;
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                int q1 = lq[j + l] & 0xF;
                int q2 = lq[j + l + 32] & 0xF;
                int q3 = lq[j + l + 64] & 0xF;
                int q4 = lq[j + l + 96] & 0xF;
                out[ql + l] = (byte) (q1 | (q3 << 4));
                out[ql + l + 32] = (byte) (q2 | (q4 << 4));
                out[qh + l] = (byte) ((lq[j + l] >> 4) | ((lq[j + l + 32] >> 4) << 2)
                        | ((lq[j + l + 64] >> 4) << 4) | ((lq[j + l + 96] >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, D);
        if (vector) {
            QuantVectors.dequantizeQ6_K(in, d, y, yOff);
            return;
        }
        int ql = QL;
        int qh = QH;
        int sc = SCALES;
        int yi = yOff;
        for (int n = 0; n < QK_K; n += 128) {
            for (int l = 0; l < 32; ++l) {
                int is = l / 16;
                int h = in[qh + l] & 0xFF;
                int q1 = ((in[ql + l] & 0xF) | (((h >> 0) & 3) << 4)) - 32;
                int q2 = ((in[ql + l + 32] & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                int q3 = (((in[ql + l] & 0xFF) >> 4) | (((h >> 4) & 3) << 4)) - 32;
                int q4 = (((in[ql + l + 32] & 0xFF) >> 4) | (((h >> 6) & 3) << 4)) - 32;
                y[yi + l] = d * in[sc + is] * q1;
                y[yi + l + 32] = d * in[sc + is + 2] * q2;
                y[yi + l + 64] = d * in[sc + is + 4] * q3;
                y[yi + l + 96] = d * in[sc + is + 6] * q4;
            }
            yi += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}
