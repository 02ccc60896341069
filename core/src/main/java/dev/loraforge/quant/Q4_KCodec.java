package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import static dev.loraforge.quant.GgmlFloat.nearestInt;

/**
 * Q4_K: 256 values in 8 groups of 32,
 * {@code block_q4_K { ggml_half d, dmin; uint8_t scales[12]; uint8_t qs[128]; }}; 6-bit scale and min
 * per group packed into 12 bytes ({@code get_scale_min_k4}), value = d·sc·q - dmin·m.
 * The vector kernel runs the 8 groups' scale searches side by side, one group per lane, each in C's
 * operation order ({@link KQuantLanes}), and the order-free element-wise steps.
 */
final class Q4_KCodec extends BlockCodec {
    static final Q4_KCodec SCALAR = new Q4_KCodec(false);
    static final Q4_KCodec VECTOR = new Q4_KCodec(true);
    private static final int QK_K = 256;
    static final int D = 0;
    static final int DMIN = 2;
    static final int SCALES = 4;
    private static final int QS = 16;

    private final boolean vector;

    private Q4_KCodec(boolean vector) {
        super(GgmlType.Q4_K);
        this.vector = vector;
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        byte[] lq = vector ? LANES.get().levels : new byte[QK_K];
        quantizeScales(x, xOff, out, lq, 15, -1.f, 0.1f, 20, vector);
        byte[] q = out;
        int qi = QS;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; ++l) {
                q[qi + l] = (byte) (lq[j + l] | (lq[j + l + 32] << 4));
            }
            qi += 32;
        }
    }

    /**
     * The part Q4_K and Q5_K share: per-group {@code make_qkx2_quants}, 6-bit scales/mins, d/dmin,
     * and the final requantization of every value against the stored (fp16-rounded) scales.
     */
    static void quantizeScales(float[] x, int xOff, byte[] out, byte[] lq, int nmax, float rmin, float rdelta,
                               int nstep, boolean vector) {
        float[] mins;
        float[] scales;
        if (vector) {
            Lanes t = LANES.get();
            searchLanes(t, x, xOff, lq, nmax, rmin, rdelta, nstep);
            scales = t.scale;
            mins = t.min;
        } else {
            byte[] laux = new byte[32];
            float[] weights = new float[32];
            float[] theMin = new float[1];
            mins = new float[QK_K / 32];
            scales = new float[QK_K / 32];
            for (int j = 0; j < QK_K / 32; ++j) {
                float sumX2 = 0;
                for (int l = 0; l < 32; ++l) {
                    sumX2 += x[xOff + 32 * j + l] * x[xOff + 32 * j + l];
                }
                float avX = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; ++l) {
                    weights[l] = avX + Math.abs(x[xOff + 32 * j + l]);
                }
                scales[j] = KQuantSearch.makeQkx2Quants(32, nmax, x, xOff + 32 * j, weights, lq, 32 * j, theMin, laux,
                        rmin, rdelta, nstep, false);
                mins[j] = theMin[0];
            }
        }
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < QK_K / 32; ++j) {
            if (scales[j] > maxScale) {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        for (int j = 0; j < QK_K / 32; ++j) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF); // ggml keeps them in uint8_t
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            if (j < 4) {
                out[SCALES + j] = (byte) ls;
                out[SCALES + j + 4] = (byte) lm;
            } else {
                out[SCALES + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                out[SCALES + j - 4] |= (byte) ((ls >> 4) << 6);
                out[SCALES + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        putHalf(out, D, maxScale / 63.f);
        putHalf(out, DMIN, maxMin / 63.f);
        float dAll = getHalf(out, D);
        float dminAll = getHalf(out, DMIN);
        for (int j = 0; j < QK_K / 32; ++j) {
            float d = dAll * scaleK4(out, j);
            if (d == 0) {
                continue;
            }
            float dm = dminAll * minK4(out, j);
            if (vector) {
                QuantVectors.requantizeAffine(x, xOff + 32 * j, dm, d, nmax, lq, 32 * j);
                continue;
            }
            for (int ii = 0; ii < 32; ++ii) {
                int l = nearestInt((x[xOff + 32 * j + ii] + dm) / d);
                lq[32 * j + ii] = (byte) Math.max(0, Math.min(nmax, l));
            }
        }
    }

    /**
     * Per-thread scratch of the vector path (no garbage per block): transposed copies of one super-block for
     * {@link KQuantLanes}, its group scales and mins, and the block's levels.
     */
    record Lanes(float[] xt, float[] wt, float[] lq, float[] laux, float[] scale, float[] min, float[] state,
                 byte[] levels) {
        Lanes() {
            this(new float[QK_K], new float[QK_K], new float[QK_K], new float[QK_K], new float[8], new float[8],
                    new float[KQuantLanes.STATE], new byte[QK_K]);
        }
    }

    static final ThreadLocal<Lanes> LANES = ThreadLocal.withInitial(Lanes::new);

    /** The 8 groups' weights and {@code make_qkx2_quants} searches at once, one group per lane. */
    private static void searchLanes(Lanes t, float[] x, int xOff, byte[] lq, int nmax, float rmin, float rdelta,
                                    int nstep) {
        for (int j = 0; j < 8; ++j) {
            for (int l = 0; l < 32; ++l) {
                t.xt[l * 8 + j] = x[xOff + 32 * j + l];
            }
        }
        KQuantLanes.weights(32, t.xt, t.wt);
        KQuantLanes.makeQkx2Quants(32, nmax, t.xt, t.wt, t.lq, t.laux, t.scale, t.min, t.state, rmin, rdelta, nstep, false);
        for (int j = 0; j < 8; ++j) {
            for (int l = 0; l < 32; ++l) {
                lq[32 * j + l] = (byte) t.lq[l * 8 + j];
            }
        }
    }

    /** {@code get_scale_min_k4}: the 6-bit scale of group j. */
    static int scaleK4(byte[] b, int j) {
        if (j < 4) {
            return b[SCALES + j] & 63;
        }
        return (b[SCALES + j + 4] & 0xF) | (((b[SCALES + j - 4] & 0xFF) >> 6) << 4);
    }

    /** {@code get_scale_min_k4}: the 6-bit min of group j. */
    static int minK4(byte[] b, int j) {
        if (j < 4) {
            return b[SCALES + j + 4] & 63;
        }
        return ((b[SCALES + j + 4] & 0xFF) >> 4) | (((b[SCALES + j] & 0xFF) >> 6) << 4);
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float d = getHalf(in, D);
        float min = getHalf(in, DMIN);
        int q = QS;
        int is = 0;
        int yi = yOff;
        for (int j = 0; j < QK_K; j += 64) {
            float d1 = d * scaleK4(in, is);
            float m1 = min * minK4(in, is);
            float d2 = d * scaleK4(in, is + 1);
            float m2 = min * minK4(in, is + 1);
            if (vector) {
                QuantVectors.dequantizeNibbles(in, q, d1, m1, d2, m2, y, yi);
                yi += 64;
            } else {
                for (int l = 0; l < 32; ++l) {
                    y[yi++] = d1 * (in[q + l] & 0xF) - m1;
                }
                for (int l = 0; l < 32; ++l) {
                    y[yi++] = d2 * ((in[q + l] & 0xFF) >> 4) - m2;
                }
            }
            q += 32;
            is += 2;
        }
    }
}
