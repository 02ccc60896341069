package dev.loraforge.quant;

/**
 * Float conversions and rounding helpers exactly as ggml-base computes them. The quantizers store
 * their scales through these, so any difference here would change the bytes of a whole block.
 */
final class GgmlFloat {
    private GgmlFloat() {
    }

    private static final float SCALE_TO_INF = Float.intBitsToFloat(0x77800000);  // 0x1.0p+112f
    private static final float SCALE_TO_ZERO = Float.intBitsToFloat(0x08800000); // 0x1.0p-110f

    /**
     * {@code GGML_FP32_TO_FP16}: the FP16 library's bit trick (round to nearest even, overflow to
     * infinity). A NaN becomes {@code sign | 0x7E00}, dropping its payload, unlike
     * {@link Float#floatToFloat16}.
     */
    static short fp32ToFp16(float f) {
        float base = (Math.abs(f) * SCALE_TO_INF) * SCALE_TO_ZERO;
        int w = Float.floatToRawIntBits(f);
        int shl1w = w + w;
        int sign = w & 0x80000000;
        int bias = shl1w & 0xFF000000;
        if (Integer.compareUnsigned(bias, 0x71000000) < 0) {
            bias = 0x71000000;
        }
        base = Float.intBitsToFloat((bias >>> 1) + 0x07800000) + base;
        int bits = Float.floatToRawIntBits(base);
        int expBits = (bits >>> 13) & 0x00007C00;
        int mantissaBits = bits & 0x00000FFF;
        int nonsign = expBits + mantissaBits;
        return (short) ((sign >>> 16) | (Integer.compareUnsigned(shl1w, 0xFF000000) > 0 ? 0x7E00 : nonsign));
    }

    /** {@code GGML_FP16_TO_FP32}: exact widening. */
    static float fp16ToFp32(short h) {
        return Float.float16ToFloat(h);
    }

    /** {@code GGML_FP32_TO_BF16}: round to nearest even, NaN made quiet with its top bits kept. */
    static short fp32ToBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    static float bf16ToFp32(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /**
     * ggml's {@code nearest_int}: adds 1.5·2^23 and reads the mantissa, so ties go to even. Only
     * meaningful for |x| ≤ 4194303 (ggml asserts that in debug builds); outside it returns the same
     * garbage ggml's release build does.
     */
    static int nearestInt(float fval) {
        float val = fval + 12582912.f;
        int i = Float.floatToRawIntBits(val);
        return (i & 0x007fffff) - 0x00400000;
    }

    /** C {@code roundf}: nearest integer, ties away from zero. */
    static float roundf(float x) {
        if (!(Math.abs(x) < 8388608f)) {
            return x; // NaN, infinity, or already an integer
        }
        float t = (float) (int) x; // truncation toward zero
        if (Math.abs(x - t) >= 0.5f) { // exact: x and t are within 1 of each other
            t += Math.copySign(1f, x);
        }
        return Math.copySign(t, x);
    }

    /**
     * C's float to int8_t/uint8_t conversion as x86-64 compiles it ({@code cvttss2si} to 32 bits, then
     * the low byte): truncation toward zero, and 0x80000000 for NaN and out-of-range values, where
     * Java's cast would saturate. Only reached with an infinite reciprocal scale (subnormal d).
     */
    static int truncToInt(float x) {
        if (x >= -2147483648f && x < 2147483648f) {
            return (int) x;
        }
        return Integer.MIN_VALUE;
    }
}
