package dev.loraforge.quant.bnb;

/**
 * LLM.int8 weights ({@code load_in_8bit}): row-wise absmax int8, stored as {@code weight} (int8) and
 * {@code SCB} (float32 row absmax). Float order as bitsandbytes' default kernels:
 * quantize {@code round_half_even(x * (127f / rowAbsmax))}, dequantize {@code (q * SCB[row]) * (1/127)}.
 */
public final class BnbInt8 {
    private BnbInt8() {
    }

    /** int8 codes and per-row absmax. */
    public record Quantized(byte[] codes, float[] scb) {
    }

    /** {@code int8_vectorwise_quant(A, threshold=0)} for a row-major {@code rows x cols} matrix. */
    public static Quantized quantize(float[] a, int rows, int cols) {
        if ((long) rows * cols != a.length) {
            throw new IllegalArgumentException(a.length + " values is not " + rows + " x " + cols);
        }
        float[] scb = new float[rows];
        byte[] q = new byte[a.length];
        for (int r = 0; r < rows; r++) {
            float m = 0f;
            for (int c = 0; c < cols; c++) {
                m = Math.max(m, Math.abs(a[r * cols + c]));
            }
            scb[r] = m;
            float s = 127.0f / m; // an all-zero row gives inf and NaN codes in bitsandbytes; we write 0
            for (int c = 0; c < cols; c++) {
                float v = a[r * cols + c] * s;
                q[r * cols + c] = m == 0f ? 0 : (byte) Math.rint(v);
            }
        }
        return new Quantized(q, scb);
    }

    /** {@code int8_vectorwise_dequant}: float32 values of a row-major matrix. */
    public static float[] dequantize(byte[] q, float[] scb, int cols) {
        float[] out = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            float p = q[i] * scb[i / cols];
            out[i] = p * BnbTensorSource.INV_127;
        }
        return out;
    }
}
