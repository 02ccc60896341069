package dev.loraforge.quant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class GgmlFloatTest {
    /** Oracle: the JDK's IEEE round-to-nearest-even conversion, which must agree for every non-NaN float. */
    @Test
    void fp32ToFp16IsRoundToNearestEvenForEveryExponent() {
        SplittableRandom r = new SplittableRandom(1);
        for (int e = 0; e < 256; e++) {
            for (int k = 0; k < 2000; k++) {
                int bits = (e << 23) | r.nextInt(1 << 23) | (r.nextBoolean() ? 0x80000000 : 0);
                float f = Float.intBitsToFloat(bits);
                if (Float.isNaN(f)) {
                    continue;
                }
                if (GgmlFloat.fp32ToFp16(f) != Float.floatToFloat16(f)) {
                    assertThat(GgmlFloat.fp32ToFp16(f)).as("%s (0x%08x)", f, bits).isEqualTo(Float.floatToFloat16(f));
                }
            }
        }
        // halfway cases around every fp16 value: ties go to even
        for (int h = 0; h < 0x7C00; h++) {
            float lo = Float.float16ToFloat((short) h);
            float hi = Float.float16ToFloat((short) (h + 1));
            float mid = (float) (((double) lo + hi) / 2);
            if (GgmlFloat.fp32ToFp16(mid) != Float.floatToFloat16(mid) || GgmlFloat.fp32ToFp16(-mid) != Float.floatToFloat16(-mid)) {
                assertThat(GgmlFloat.fp32ToFp16(mid)).as("±%s", mid).isEqualTo(Float.floatToFloat16(mid));
                assertThat(GgmlFloat.fp32ToFp16(-mid)).as("±%s", mid).isEqualTo(Float.floatToFloat16(-mid));
            }
        }
    }

    @Test
    void fp32ToFp16TurnsEveryNanIntoSignedCanonicalNan() {
        assertThat(GgmlFloat.fp32ToFp16(Float.NaN)).isEqualTo((short) 0x7E00);
        assertThat(GgmlFloat.fp32ToFp16(Float.intBitsToFloat(0x7F800001))).isEqualTo((short) 0x7E00);
        assertThat(GgmlFloat.fp32ToFp16(Float.intBitsToFloat(0xFFC12345))).isEqualTo((short) 0xFE00);
        assertThat(GgmlFloat.fp32ToFp16(Float.POSITIVE_INFINITY)).isEqualTo((short) 0x7C00);
        assertThat(GgmlFloat.fp32ToFp16(65520f)).isEqualTo((short) 0x7C00); // rounds up to infinity
        assertThat(GgmlFloat.fp32ToFp16(-0f)).isEqualTo((short) 0x8000);
    }

    @Test
    void bf16IsRoundToNearestEvenWithQuietNan() {
        assertThat(GgmlFloat.fp32ToBf16(Float.intBitsToFloat(0x3F808000))).isEqualTo((short) 0x3F80); // tie to even
        assertThat(GgmlFloat.fp32ToBf16(Float.intBitsToFloat(0x3F818000))).isEqualTo((short) 0x3F82);
        assertThat(GgmlFloat.fp32ToBf16(Float.intBitsToFloat(0x7F800001))).isEqualTo((short) 0x7FC0);
        assertThat(GgmlFloat.fp32ToBf16(Float.intBitsToFloat(0x00000001))).isEqualTo((short) 0x0000); // subnormal kept, rounds to 0
        assertThat(GgmlFloat.fp32ToBf16(Float.intBitsToFloat(0x00018000))).isEqualTo((short) 0x0002);
    }

    /** nearest_int is round-half-even within its domain: Math.rint is the oracle. */
    @Test
    void nearestIntRoundsHalfToEven() {
        SplittableRandom r = new SplittableRandom(2);
        for (int k = 0; k < 200_000; k++) {
            float x = (float) ((r.nextDouble() * 2 - 1) * (k % 2 == 0 ? 100 : 4194303));
            if (GgmlFloat.nearestInt(x) != (int) Math.rint(x)) {
                assertThat(GgmlFloat.nearestInt(x)).as("%s", x).isEqualTo((int) Math.rint(x));
            }
        }
        for (int i = -100; i <= 100; i++) {
            float half = i + 0.5f;
            assertThat(GgmlFloat.nearestInt(half)).isEqualTo((int) Math.rint(half));
        }
    }

    @ParameterizedTest
    @CsvSource({"0.5, 1", "-0.5, -1", "1.5, 2", "2.5, 3", "-2.5, -3", "0.49999997, 0", "126.5, 127", "-127.49, -127",
            "8388607.5, 8388608", "0, 0", "-0, -0"})
    void roundfRoundsHalfAwayFromZero(float x, float want) {
        assertThat(Float.floatToIntBits(GgmlFloat.roundf(x))).isEqualTo(Float.floatToIntBits(want));
    }

    @Test
    void roundfMatchesHalfUpOnMagnitude() {
        SplittableRandom r = new SplittableRandom(3);
        for (int k = 0; k < 200_000; k++) {
            float x = (float) ((r.nextDouble() * 2 - 1) * 300);
            double want = Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x); // exact in double
            if (GgmlFloat.roundf(x) != want) {
                assertThat((double) GgmlFloat.roundf(x)).as("%s", x).isEqualTo(want);
            }
        }
    }

    @Test
    void truncToIntFollowsX86ForOutOfRangeValues() {
        assertThat(GgmlFloat.truncToInt(-7.9f)).isEqualTo(-7);
        assertThat(GgmlFloat.truncToInt(Float.NaN)).isEqualTo(Integer.MIN_VALUE);
        assertThat(GgmlFloat.truncToInt(Float.POSITIVE_INFINITY)).isEqualTo(Integer.MIN_VALUE);
        assertThat(GgmlFloat.truncToInt(3e9f)).isEqualTo(Integer.MIN_VALUE);
        assertThat(GgmlFloat.truncToInt(-2147483648f)).isEqualTo(Integer.MIN_VALUE);
    }
}
