package dev.loraforge.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** HalfFloat against {@link RoundingReference}, exhaustively for 16-bit inputs and on seeded samples. */
class HalfFloatTest {
    static final RoundingReference BF = RoundingReference.BF16;
    static final RoundingReference F16 = RoundingReference.F16;

    @Test
    void everyBf16PatternDecodesExactlyAndRoundTrips() {
        for (int b = 0; b < 65536; b++) {
            short bits = (short) b;
            float f = HalfFloat.bf16ToFloat(bits);
            short back = HalfFloat.floatToBf16(f);
            if (BF.isNaN(bits)) {
                assertThat(Float.isNaN(f)).as("%04x", b).isTrue();
                assertThat(BF.isNaN(back)).as("%04x", b).isTrue();
                assertThat(BF.signOf(back)).as("%04x", b).isEqualTo(BF.signOf(bits));
                assertThat(back & 0x0040).as("quiet %04x", b).isNotZero();
            } else {
                assertThat((double) f).as("%04x", b).isEqualTo(BF.decode(bits));
                assertThat(Float.floatToRawIntBits(f) >>> 31).isEqualTo(BF.signOf(bits));
                assertThat(back).as("%04x", b).isEqualTo(bits);
            }
        }
    }

    @Test
    void everyF16PatternDecodesExactlyAndRoundTrips() {
        for (int b = 0; b < 65536; b++) {
            short bits = (short) b;
            float f = HalfFloat.f16ToFloat(bits);
            short back = HalfFloat.floatToF16(f);
            if (F16.isNaN(bits)) {
                assertThat(Float.isNaN(f)).as("%04x", b).isTrue();
                assertThat(F16.isNaN(back)).as("%04x", b).isTrue();
                assertThat(F16.signOf(back)).as("%04x", b).isEqualTo(F16.signOf(bits));
            } else {
                assertThat((double) f).as("%04x", b).isEqualTo(F16.decode(bits));
                assertThat(Float.floatToRawIntBits(f) >>> 31).isEqualTo(F16.signOf(bits));
                assertThat(back).as("%04x", b).isEqualTo(bits);
            }
        }
    }

    /** Random float bits: half uniform over all patterns, half near a rounding boundary of the target. */
    static int sampleFloatBits(SplittableRandom r, int lowBits, int minExp, int maxExp) {
        int x = r.nextInt();
        switch (r.nextInt(4)) {
            case 0, 1 -> { // uniform bits: every exponent, NaNs included
            }
            case 2 -> { // exponent in the target's interesting range
                int e = r.nextInt(minExp, maxExp + 1) + 127;
                x = (x & 0x807FFFFF) | (e << 23);
            }
            default -> { // at or next to the halfway point between two target values
                int e = r.nextInt(minExp, maxExp + 1) + 127;
                int half = 1 << (lowBits - 1);
                x = (x & 0x807FFFFF & ~((1 << lowBits) - 1)) | (e << 23) | (half + r.nextInt(-2, 3));
            }
        }
        return x;
    }

    @Test
    void floatToBf16MatchesTheReferenceOnTenMillionSeededValues() {
        SplittableRandom r = new SplittableRandom(0xB16B00B5L);
        for (int i = 0; i < 10_000_000; i++) {
            int x = sampleFloatBits(r, 16, -140, 128);
            float f = Float.intBitsToFloat(x);
            short got = HalfFloat.floatToBf16(f);
            if (Float.isNaN(f)) {
                if (!BF.isNaN(got) || BF.signOf(got) != (x >>> 31) || (got & 0x40) == 0) {
                    throw new AssertionError(String.format("NaN %08x -> %04x", x, got));
                }
            } else if (got != BF.round(f)) {
                throw new AssertionError(String.format("%08x -> %04x, reference %04x", x, got, BF.round(f)));
            }
        }
    }

    @Test
    void floatToF16MatchesTheReferenceOnTenMillionSeededValues() {
        SplittableRandom r = new SplittableRandom(0xF16F16L);
        for (int i = 0; i < 10_000_000; i++) {
            int x = sampleFloatBits(r, 13, -26, 16);
            float f = Float.intBitsToFloat(x);
            short got = HalfFloat.floatToF16(f);
            if (Float.isNaN(f)) {
                if (!F16.isNaN(got) || F16.signOf(got) != (x >>> 31)) {
                    throw new AssertionError(String.format("NaN %08x -> %04x", x, got));
                }
            } else if (got != F16.round(f)) {
                throw new AssertionError(String.format("%08x -> %04x, reference %04x", x, got, F16.round(f)));
            }
        }
    }

    @ParameterizedTest(name = "bf16({0}) = {1}")
    @CsvSource({
            "00000000, 0000", "80000000, 8000", "3F800000, 3F80",
            "3F808000, 3F80", // 1 + 2^-8: tie, stays even
            "3F818000, 3F82", // tie with odd last bit rounds up
            "3F808001, 3F81", "3F807FFF, 3F80",
            "7F7F7FFF, 7F7F", "7F7F8000, 7F80", "7F7FFFFF, 7F80", // max, tie at max -> inf, max float -> inf
            "FF7F8000, FF80", "7F800000, 7F80", "FF800000, FF80",
            "00000001, 0000", "80000001, 8000", "00008000, 0000", "00008001, 0001", "00018000, 0002",
            "007FFFFF, 0080", "00800000, 0080", "807FFFFF, 8080",
            "7FC00000, 7FC0", "7F800001, 7FC0", "FF812345, FFC1", "7FFFFFFF, 7FFF", "FFA00000, FFE0"})
    void bf16Edges(String in, String out) {
        float f = Float.intBitsToFloat(Integer.parseUnsignedInt(in, 16));
        assertThat(HalfFloat.floatToBf16(f) & 0xFFFF).isEqualTo(Integer.parseInt(out, 16));
    }

    @ParameterizedTest(name = "f16({0}) = {1}")
    @CsvSource({
            "477FE000, 7BFF", "477FEFFF, 7BFF", "477FF000, 7C00", "C77FF000, FC00", "7F7FFFFF, 7C00",
            "33800000, 0001", "33000000, 0000", "B3000000, 8000", "33000001, 0001", "33C00000, 0002",
            "38800000, 0400", "387FC000, 03FF", "3F801000, 3C00", "3F801001, 3C01", "3F803000, 3C02",
            "00000001, 0000", "7F800000, 7C00"})
    void f16Edges(String in, String out) {
        float f = Float.intBitsToFloat(Integer.parseUnsignedInt(in, 16));
        assertThat(HalfFloat.floatToF16(f) & 0xFFFF).isEqualTo(Integer.parseInt(out, 16));
    }

    @Test
    void f16NaNsStayNaNWithSign() {
        for (int x : new int[] {0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0x7FA00000}) {
            short h = HalfFloat.floatToF16(Float.intBitsToFloat(x));
            assertThat(F16.isNaN(h)).isTrue();
            assertThat(F16.signOf(h)).isEqualTo(x >>> 31);
        }
    }

    @Test
    void doublesRoundOnceOnSeededValues() {
        SplittableRandom r = new SplittableRandom(64);
        for (int i = 0; i < 1_000_000; i++) {
            long bits = r.nextLong();
            int e = r.nextInt(-160, 140);
            double d = switch (r.nextInt(3)) {
                case 0 -> Double.longBitsToDouble((bits & 0x800FFFFFFFFFFFFFL) | ((long) (e + 1023) << 52));
                case 1 -> Double.longBitsToDouble(bits);
                default -> Math.scalb(r.nextDouble(-1, 1), r.nextInt(-30, 20));
            };
            if (Double.isNaN(d)) {
                assertThat(BF.isNaN(HalfFloat.doubleToBf16(d))).isTrue();
                assertThat(F16.isNaN(HalfFloat.doubleToF16(d))).isTrue();
                continue;
            }
            short bf = HalfFloat.doubleToBf16(d);
            short hf = HalfFloat.doubleToF16(d);
            if (bf != BF.round(d) || hf != F16.round(d)) {
                throw new AssertionError(String.format("%a -> bf16 %04x (ref %04x), f16 %04x (ref %04x)", d, bf,
                        BF.round(d), hf, F16.round(d)));
            }
            if (i % 50 == 0 && Math.abs(d) < 1e300) { // BigDecimal re-check on a subset
                assertThat(BF.isCorrectlyRounded(d, bf)).as("%a bf16", d).isTrue();
                assertThat(F16.isCorrectlyRounded(d, hf)).as("%a f16", d).isTrue();
            }
        }
    }

    /**
     * Doubles just above or below the midpoint of two target values by less than half a float ulp: rounding
     * to float first lands exactly on the midpoint and ties to even, which is wrong half of the time.
     */
    @Test
    void doublesThatDoubleRoundingGetsWrong() {
        SplittableRandom r = new SplittableRandom(2);
        int differBf = 0;
        int differF16 = 0;
        for (int i = 0; i < 100_000; i++) {
            // bf16: a random normal or subnormal bf16 value, plus half its ulp, nudged by +-2^-20 ulp
            int b = r.nextInt(0x0001, 0x7F7F);
            double v = BF.decode((short) b);
            int ulpExp = Math.max(Math.getExponent(v), -126) - 7;
            double nudge = Math.scalb(1.0, ulpExp - 20) * (r.nextBoolean() ? 1 : -1);
            double d = (v + Math.scalb(1.0, ulpExp - 1) + nudge) * (r.nextBoolean() ? 1 : -1);
            short got = HalfFloat.doubleToBf16(d);
            assertThat(got).as("%a", d).isEqualTo(BF.round(d));
            assertThat(BF.isCorrectlyRounded(d, got)).as("%a", d).isTrue();
            if (HalfFloat.floatToBf16((float) d) != got) {
                differBf++;
            }
            // f16 likewise
            int h = r.nextInt(0x0001, 0x7BFF);
            double hv = F16.decode((short) h);
            int hUlpExp = Math.max(Math.getExponent(hv), -14) - 10;
            double hn = Math.scalb(1.0, hUlpExp - 20) * (r.nextBoolean() ? 1 : -1);
            double hd = hv + Math.scalb(1.0, hUlpExp - 1) + hn;
            short hg = HalfFloat.doubleToF16(hd);
            assertThat(hg).as("%a", hd).isEqualTo(F16.round(hd));
            if (HalfFloat.floatToF16((float) hd) != hg) {
                differF16++;
            }
        }
        // the construction works: about a quarter of the cases are ones double rounding gets wrong
        assertThat(differBf).isGreaterThan(15_000);
        assertThat(differF16).isGreaterThan(15_000);
    }

    @Test
    void doubleEdges() {
        assertThat(HalfFloat.doubleToBf16(1e300)).isEqualTo((short) 0x7F80);
        assertThat(HalfFloat.doubleToBf16(-1e300)).isEqualTo((short) 0xFF80);
        assertThat(HalfFloat.doubleToBf16(1e-300)).isEqualTo((short) 0x0000);
        assertThat(HalfFloat.doubleToBf16(-1e-300)).isEqualTo((short) 0x8000);
        assertThat(HalfFloat.doubleToBf16(-0.0)).isEqualTo((short) 0x8000);
        assertThat(HalfFloat.doubleToF16(65520.0)).isEqualTo((short) 0x7C00);
        assertThat(HalfFloat.doubleToF16(Math.nextDown(65520.0))).isEqualTo((short) 0x7BFF);
        assertThat(HalfFloat.doubleToF16(Math.scalb(1.0, -25))).isEqualTo((short) 0x0000);
        assertThat(HalfFloat.doubleToF16(Math.nextUp(Math.scalb(1.0, -25)))).isEqualTo((short) 0x0001);
        // bf16 overflow threshold: max + half ulp ties to even = infinity; a hair below stays max
        double threshold = Math.scalb(2.0 - Math.scalb(1.0, -8), 127);
        assertThat(HalfFloat.doubleToBf16(threshold)).isEqualTo((short) 0x7F80);
        assertThat(HalfFloat.doubleToBf16(Math.nextDown(threshold))).isEqualTo((short) 0x7F7F);
        assertThat(HalfFloat.doubleToBf16(Double.POSITIVE_INFINITY)).isEqualTo((short) 0x7F80);
        short nan = HalfFloat.doubleToBf16(Double.longBitsToDouble(0xFFF0000000000001L)); // signalling, low payload
        assertThat(BF.isNaN(nan)).isTrue();
        assertThat(BF.signOf(nan)).isEqualTo(1);
    }
}
