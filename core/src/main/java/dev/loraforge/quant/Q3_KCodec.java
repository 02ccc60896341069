package dev.loraforge.quant;

import dev.loraforge.format.gguf.GgmlType;

import static dev.loraforge.quant.GgmlFloat.nearestInt;

/**
 * Q3_K: 256 values in 16 groups of 16,
 * {@code block_q3_K { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; ggml_half d; }};
 * 6-bit signed group scales (offset 32) packed into 12 bytes, 3-bit quants as 2 low bits in qs plus a
 * high bit in hmask; value = d·(sc - 32)·(q - 4).
 */
final class Q3_KCodec extends BlockCodec {
    static final Q3_KCodec SCALAR = new Q3_KCodec(false);
    static final Q3_KCodec VECTOR = new Q3_KCodec(true);
    private static final int QK_K = 256;
    private static final int HMASK = 0;
    private static final int QS = 32;
    private static final int SCALES = 96;
    private static final int D = 108;

    private final boolean vector;

    private Q3_KCodec(boolean vector) {
        super(GgmlType.Q3_K);
        this.vector = vector;
    }

    @Override
    void quantizeBlock(float[] x, int xOff, byte[] out) {
        byte[] lq = new byte[QK_K];
        float[] scales = new float[QK_K / 16];

        float maxScale = 0;
        float amax = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            scales[j] = KQuantSearch.makeQ3Quants(16, 4, x, xOff + 16 * j, lq, 16 * j);
            float scale = Math.abs(scales[j]);
            if (scale > amax) {
                amax = scale;
                maxScale = scales[j];
            }
        }
        for (int k = 0; k < 12; k++) {
            out[SCALES + k] = 0;
        }
        if (maxScale != 0) {
            float iscale = -32.f / maxScale;
            for (int j = 0; j < QK_K / 16; ++j) {
                int l = (byte) nearestInt(iscale * scales[j]); // ggml keeps it in an int8_t
                l = Math.max(-32, Math.min(31, l)) + 32;
                if (j < 8) {
                    out[SCALES + j] = (byte) (l & 0xF);
                } else {
                    out[SCALES + j - 8] |= (byte) ((l & 0xF) << 4);
                }
                l >>= 4;
                out[SCALES + j % 4 + 8] |= (byte) (l << (2 * (j / 4)));
            }
            putHalf(out, D, 1 / iscale);
        } else {
            putHalf(out, D, 0.f);
        }
        float dAll = getHalf(out, D);
        for (int j = 0; j < QK_K / 16; ++j) {
            int sc = scale(out, j);
            float d = dAll * sc;
            if (d == 0) {
                continue;
            }
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[xOff + 16 * j + ii] / d);
                l = Math.max(-4, Math.min(3, l));
                lq[16 * j + ii] = (byte) (l + 4);
            }
        }
        for (int k = 0; k < QK_K / 8; k++) {
            out[HMASK + k] = 0;
        }
        // the high bit of the first 32 quants goes to bit 0 of hmask[0..31], the next 32 to bit 1, ...
        int m = 0;
        int hm = 1;
        for (int j = 0; j < QK_K; ++j) {
            if (lq[j] > 3) {
                out[HMASK + m] |= (byte) hm;
                lq[j] -= 4;
            }
            if (++m == QK_K / 8) {
                m = 0;
                hm <<= 1;
            }
        }
        Q2_KCodec.pack2(lq, out, QS);
    }

    /** Group j's signed scale (-32..31) from the 12 packed bytes. */
    private static int scale(byte[] b, int j) {
        int lo = j < 8 ? (b[SCALES + j] & 0xF) : ((b[SCALES + j - 8] & 0xFF) >> 4);
        int hi = ((b[SCALES + 8 + j % 4] & 0xFF) >> (2 * (j / 4))) & 3;
        return (byte) ((lo | (hi << 4)) - 32);
    }

    @Override
    void dequantizeBlock(byte[] in, float[] y, int yOff) {
        float dAll = getHalf(in, D);
        int q = QS;
        int m = 1;
        int is = 0;
        int yi = yOff;
        for (int n = 0; n < QK_K; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                float dl = dAll * scale(in, is++);
                if (vector) {
                    QuantVectors.dequantize2Bit(in, q, shift, dl, 0f, HMASK, m, y, yi);
                    yi += 16;
                } else {
                    for (int l = 0; l < 16; ++l) {
                        int v = (((in[q + l] & 0xFF) >> shift) & 3) - ((in[HMASK + l] & m) != 0 ? 0 : 4);
                        y[yi++] = dl * v;
                    }
                }
                dl = dAll * scale(in, is++);
                if (vector) {
                    QuantVectors.dequantize2Bit(in, q + 16, shift, dl, 0f, HMASK + 16, m, y, yi);
                    yi += 16;
                } else {
                    for (int l = 0; l < 16; ++l) {
                        int v = (((in[q + l + 16] & 0xFF) >> shift) & 3) - ((in[HMASK + l + 16] & m) != 0 ? 0 : 4);
                        y[yi++] = dl * v;
                    }
                }
                shift += 2;
                m <<= 1;
            }
            q += 32;
        }
    }
}
