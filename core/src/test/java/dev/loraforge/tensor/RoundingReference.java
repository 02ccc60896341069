package dev.loraforge.tensor;

import java.math.BigDecimal;

/**
 * Independent round-to-nearest-even into a binary format with {@code p} significand bits, exponent range
 * [{@code emin}, {@code emax}], gradual underflow and overflow to infinity. Candidates are found with exact
 * power-of-two scaling; the tie decision compares exact distances as BigDecimal. Written from the IEEE 754
 * definition, not from the code under test. {@link #isCorrectlyRounded} re-checks a result with BigDecimal.
 */
record RoundingReference(int p, int emin, int emax, int expBits) {
    static final RoundingReference BF16 = new RoundingReference(8, -126, 127, 8);
    static final RoundingReference F16 = new RoundingReference(11, -14, 15, 5);

    /** Bits of the correctly rounded value of a finite, non-NaN {@code x}. */
    short round(double x) {
        int sign = (Double.doubleToRawLongBits(x) < 0) ? 1 : 0;
        double a = Math.abs(x);
        int signBit = sign << (p - 1 + expBits);
        if (a == 0) {
            return (short) signBit;
        }
        int e = Math.getExponent(a);
        if (e > emax) {
            return (short) (signBit | infBits());
        }
        int qExp = Math.max(e, emin) - (p - 1); // quantum (ulp) of a's binade in the target
        double scaled = Math.scalb(a, -qExp); // exact: a power-of-two scaling of a double that stays normal
        double lo = Math.floor(scaled);
        int cmp = Double.compare(scaled - lo, 0.5); // exact: both in the same binade, the difference fits
        long k = (long) lo;
        if (cmp > 0 || (cmp == 0 && (k & 1) == 1)) {
            k++;
        }
        // k * 2^qExp; encode
        if (k == 0) {
            return (short) signBit;
        }
        int kExp = 63 - Long.numberOfLeadingZeros(k); // position of leading bit
        int valueExp = qExp + kExp;
        if (valueExp > emax) {
            return (short) (signBit | infBits());
        }
        int bias = (1 << (expBits - 1)) - 1;
        if (valueExp < emin) { // subnormal: k counts quanta of 2^(emin - p + 1)
            return (short) (signBit | (int) k);
        }
        long mant = (k >> (kExp - (p - 1))) & ((1L << (p - 1)) - 1); // normal: kExp is p-1, or p after a carry
        return (short) (signBit | ((valueExp + bias) << (p - 1)) | (int) mant);
    }

    /**
     * BigDecimal check that {@code r} is the RNE rounding of finite {@code x}: no representable neighbour of
     * {@code r} is closer, and on a tie r's significand is even.
     */
    boolean isCorrectlyRounded(double x, short r) {
        BigDecimal bx = new BigDecimal(x);
        double rv = decode(r);
        int bits = r & 0xFFFF;
        int signMask = 1 << (p - 1 + expBits);
        if (Double.isInfinite(rv)) {
            // overflow: |x| must be at least max + half an ulp of the top binade
            BigDecimal threshold = new BigDecimal(Math.scalb(2.0 - Math.scalb(1.0, -p), emax));
            return bx.abs().compareTo(threshold) >= 0 && (x < 0) == ((bits & signMask) != 0);
        }
        BigDecimal dr = bx.subtract(new BigDecimal(rv)).abs();
        int mag = bits & (signMask - 1);
        for (int step : new int[] {-1, 1}) {
            int nb = mag + step;
            if (nb < 0 || nb > infBits()) {
                continue;
            }
            double nv = nb == infBits() ? Math.scalb(1.0, emax + 1) : decode((short) nb); // 2^(emax+1) past max
            nv = (bits & signMask) != 0 ? -nv : nv;
            int c = bx.subtract(new BigDecimal(nv)).abs().compareTo(dr);
            if (c < 0 || (c == 0 && (mag & 1) == 1)) {
                return false;
            }
        }
        return ((bits & signMask) != 0) == (Double.doubleToRawLongBits(x) < 0); // zeros keep x's sign too
    }

    int infBits() {
        return ((1 << expBits) - 1) << (p - 1);
    }

    /** Exact value of a bit pattern that is not NaN/inf, from the format definition. */
    double decode(short bits) {
        int b = bits & 0xFFFF;
        int sign = b >>> (p - 1 + expBits);
        int exp = (b >>> (p - 1)) & ((1 << expBits) - 1);
        int mant = b & ((1 << (p - 1)) - 1);
        int bias = (1 << (expBits - 1)) - 1;
        double v;
        if (exp == (1 << expBits) - 1) {
            v = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (exp == 0) {
            v = Math.scalb((double) mant, emin - (p - 1));
        } else {
            v = Math.scalb((double) ((1 << (p - 1)) | mant), exp - bias - (p - 1));
        }
        return sign == 1 ? -v : v;
    }

    boolean isNaN(short bits) {
        int b = bits & 0xFFFF;
        return ((b >>> (p - 1)) & ((1 << expBits) - 1)) == (1 << expBits) - 1 && (b & ((1 << (p - 1)) - 1)) != 0;
    }

    int signOf(short bits) {
        return (bits & 0xFFFF) >>> (p - 1 + expBits);
    }
}
