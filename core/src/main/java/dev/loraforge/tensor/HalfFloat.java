package dev.loraforge.tensor;

/**
 * Scalar conversions between float64, float32, float16 and bfloat16, all round-to-nearest-even.
 * Float16 uses the JDK's {@link Float#float16ToFloat}/{@link Float#floatToFloat16}, which the JIT
 * vectorizes; bfloat16 is done here by bit manipulation.
 */
public final class HalfFloat {
    private HalfFloat() {
    }

    /** bfloat16 bits (low 16 bits of {@code bits}) to float32; exact. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * float32 to bfloat16 bits, round to nearest even; a NaN stays a NaN with its sign and top
     * payload bits, made quiet (as ggml and PyTorch do).
     */
    public static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((x >>> 16) | 0x0040);
        }
        int rounded = x + 0x7FFF + ((x >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /** float16 bits to float32; exact. */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** float32 to float16 bits, round to nearest even; NaN payload kept as far as it fits. */
    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }

    /**
     * float64 to bfloat16 with a single rounding (no double rounding through float32):
     * rounds to float32 with round-to-odd first, which is exact for a further round-to-nearest-even
     * to any format at least two bits narrower.
     */
    public static short doubleToBf16(double d) {
        return floatToBf16(roundToOddFloat(d));
    }

    /** float64 to float16 with a single rounding; see {@link #doubleToBf16}. */
    public static short doubleToF16(double d) {
        return floatToF16(roundToOddFloat(d));
    }

    /**
     * float64 to float32 rounding to odd: truncate toward zero, then set the last bit when the
     * value was inexact. NaN becomes a float NaN with the double's sign and top payload bits.
     */
    static float roundToOddFloat(double d) {
        if (Double.isNaN(d)) {
            long bits = Double.doubleToRawLongBits(d);
            int sign = (int) (bits >>> 63) << 31;
            int payload = (int) ((bits >>> 29) & 0x007FFFFF);
            return Float.intBitsToFloat(sign | 0x7FC00000 | payload);
        }
        float f = (float) d;
        if ((double) f == d || Double.isInfinite(d)) {
            return f;
        }
        int bits = Float.floatToRawIntBits(f);
        if (Math.abs((double) f) > Math.abs(d)) {
            bits -= 1; // step back toward zero; f is never 0 here because |f| > |d| >= 0
        }
        return Float.intBitsToFloat(bits | 1);
    }
}
