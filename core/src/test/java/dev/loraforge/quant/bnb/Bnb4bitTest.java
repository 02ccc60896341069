package dev.loraforge.quant.bnb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loraforge.testing.SafetensorsTwin;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * bitsandbytes codecs against two independent oracles: the numpy re-implementation in
 * fixtures/bnb/make_bnb_fixtures.py (vectors.safetensors), and blocks worked out by hand from the code
 * tables below (each expected number's derivation is in the comment beside it).
 */
class Bnb4bitTest {
    static Map<String, SafetensorsTwin.Tensor> vectors;

    @BeforeAll
    static void load() throws Exception {
        vectors = SafetensorsTwin.read(SafetensorsTwin.resource("bnb/vectors.safetensors"));
    }

    static float[] f32(String name) {
        byte[] b = vectors.get(name).data();
        float[] out = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    static byte[] u8(String name) {
        return vectors.get(name).data();
    }

    static void assertBitsEqual(float[] actual, float[] expected, String what) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.floatToRawIntBits(actual[i])).as(what + " [" + i + "] " + actual[i] + " vs " + expected[i])
                    .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
    }

    // ------------------------------------------------------------ code tables

    @Test
    void codeTablesAreBitsandbytesValues() {
        float[] fp4 = BnbCodes.fp4();
        // FP4 nibble order 0,0.0625,8,12,4,6,2,3 (and negatives) divided by 12 in float32
        assertThat(fp4).containsExactly(0f, 0.0625f / 12f, 8f / 12f, 1f, 4f / 12f, 0.5f, 2f / 12f, 0.25f,
                0f, -0.0625f / 12f, -8f / 12f, -1f, -4f / 12f, -0.5f, -2f / 12f, -0.25f);
        assertThat(Float.floatToRawIntBits(fp4[8])).as("nibble 8 is +0.0 (Python int -0)").isZero();
        float[] nf4 = BnbCodes.nf4();
        assertThat(nf4).isSorted().startsWith(-1f).endsWith(1f).contains(0f);
        assertThat(nf4[13]).isEqualTo(0.5626170039176941f);
    }

    @Test
    void dynamicMapMatchesTorch() throws Exception {
        byte[] torch = SafetensorsTwin.resource("bnb/dynamic_map_torch113.f32");
        float[] expected = new float[256];
        ByteBuffer.wrap(torch).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(expected);
        assertBitsEqual(BnbCodes.dynamic8(), expected, "dynamic map");
        assertBitsEqual(BnbCodes.dynamic8(), f32("dynamic_map"), "dynamic map in vectors");
    }

    // ------------------------------------------------------------ numpy oracle

    @ParameterizedTest
    @CsvSource({"nf4, 64, 320", "nf4, 64, 357", "nf4, 32, 320", "nf4, 32, 357",
        "fp4, 64, 320", "fp4, 64, 357", "fp4, 32, 320", "fp4, 32, 357"})
    void quantizeAndDequantizeMatchNumpy(String type, int blocksize, int n) {
        String c = type + ".b" + blocksize + ".n" + n;
        float[] x = f32(c + ".x");
        BnbQuantType t = BnbQuantType.fromFileName(type).orElseThrow();
        Bnb4bit.Quantized4 q = Bnb4bit.quantize(x, t, blocksize);
        assertThat(q.packed()).as("packed").isEqualTo(u8(c + ".packed"));
        assertBitsEqual(q.absmax(), f32(c + ".absmax"), "absmax");
        float[] expected = f32(c + ".dequant");
        float[] scalar = new float[n];
        float[] vector = new float[n];
        Bnb4bit.dequantizeScalar(MemorySegment.ofArray(u8(c + ".packed")), f32(c + ".absmax"), BnbCodes.of(t), blocksize, scalar);
        Bnb4bit.dequantizeVector(MemorySegment.ofArray(u8(c + ".packed")), f32(c + ".absmax"), BnbCodes.of(t), blocksize, vector);
        assertBitsEqual(scalar, expected, "scalar dequant");
        assertBitsEqual(vector, expected, "vector dequant");
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "bucketize"})
    void doubleQuantMatchesNumpy(String mode) {
        String c = "dq." + mode;
        Bnb4bit.Rounding r = mode.equals("native") ? Bnb4bit.Rounding.NATIVE_CPU_LUT : Bnb4bit.Rounding.TORCH_BUCKETIZE;
        Bnb4bit.DoubleQuant dq = Bnb4bit.doubleQuantize(f32(c + ".absmax"), r);
        assertThat(Float.floatToRawIntBits(dq.offset())).isEqualTo(Float.floatToRawIntBits(f32(c + ".offset")[0]));
        assertThat(dq.codes()).isEqualTo(u8(c + ".codes"));
        assertBitsEqual(dq.nestedAbsmax(), f32(c + ".nested_absmax"), "nested absmax");
        float[] back = Bnb4bit.dequantizeAbsmax(u8(c + ".codes"), f32(c + ".nested_absmax"), BnbCodes.dynamic8(), 256,
                f32(c + ".offset")[0]);
        assertBitsEqual(back, f32(c + ".dequant"), "dequantized absmax");
    }

    @Test
    void int8MatchesNumpy() {
        BnbInt8.Quantized q = BnbInt8.quantize(f32("int8.x"), 12, 40);
        assertThat(q.codes()).isEqualTo(u8("int8.CB"));
        assertBitsEqual(q.scb(), f32("int8.SCB"), "SCB");
        assertBitsEqual(BnbInt8.dequantize(u8("int8.CB"), f32("int8.SCB"), 40), f32("int8.dequant"), "int8 dequant");
    }

    // ------------------------------------------------------------ hand-computed blocks

    @Test
    void nf4HandComputedBlock() {
        float[] nf4 = BnbCodes.nf4();
        float tie = (nf4[7] + nf4[8]) / 2f; // midpoint of codes 0.0 and 0.0795803: exactly on a bucket bound
        float[] x = new float[32];
        x[0] = 2f;     // absmax 2, inv 0.5 (exact): scaled 1.0 -> code 15 (1.0)
        x[1] = -2f;    // scaled -1.0 -> code 0 (-1.0)
        x[2] = 1f;     // scaled 0.5; codes 12 = 0.4407098, 13 = 0.5626170, midpoint 0.5016634 > 0.5 -> code 12
        x[3] = 0f;     // scaled 0 -> code 7 (0.0)
        x[4] = tie * 2; // scaled == midpoint(7, 8): bucketize(right=False) puts it in the lower bucket -> code 7
        x[5] = Math.nextUp(tie) * 2; // one ulp above the midpoint -> code 8
        // x[6..31] = 0 -> code 7
        Bnb4bit.Quantized4 q = Bnb4bit.quantize(x, BnbQuantType.NF4, 32);
        assertThat(q.absmax()).containsExactly(2f);
        byte[] expected = new byte[16];
        java.util.Arrays.fill(expected, (byte) 0x77);
        expected[0] = (byte) 0xF0; // codes 15, 0
        expected[1] = (byte) 0xC7; // codes 12, 7
        expected[2] = (byte) 0x78; // codes 7, 8
        assertThat(q.packed()).isEqualTo(expected);
        float[] out = new float[32];
        Bnb4bit.dequantizeScalar(MemorySegment.ofArray(expected), q.absmax(), nf4, 32, out);
        assertThat(out[0]).isEqualTo(2f);
        assertThat(out[1]).isEqualTo(-2f);
        assertThat(out[2]).isEqualTo(0.44070982933044434f * 2f);
        assertThat(out[5]).isEqualTo(0.07958029955625534f * 2f);
    }

    @Test
    void fp4HandComputedBlock() {
        float[] x = new float[32];
        x[0] = 3f;      // absmax 3; scaled 1.0 -> sorted position 15 -> nibble 3 (12/12)
        x[1] = -3f;     // scaled -1.0 -> sorted position 0 -> nibble 11 (-12/12)
        x[2] = 1.5f;    // scaled 1.5 * (1/3f) = 0.5 -> nibble 5 (6/12)
        x[3] = 0.003f;  // scaled 0.001: in (0, 0.0026042] -> sorted position 8 -> stable argsort puts nibble 8 there
        x[4] = -0.003f; // scaled -0.001: in (-0.0026042, 0] -> sorted position 7 -> nibble 0
        x[5] = -0.012f; // scaled -0.004 < -0.0026042 -> sorted position 6 -> nibble 9 (-0.0625/12)
        // zeros -> sorted position 7 -> nibble 0
        Bnb4bit.Quantized4 q = Bnb4bit.quantize(x, BnbQuantType.FP4, 32);
        byte[] expected = new byte[16];
        expected[0] = (byte) 0x3B;
        expected[1] = (byte) 0x58;
        expected[2] = (byte) 0x09;
        assertThat(q.packed()).isEqualTo(expected);
        assertThat(q.absmax()).containsExactly(3f);
    }

    @Test
    void partialBlockStoresClampedAbsmaxAndPadsWithZero() {
        float[] x = new float[33]; // one full block of 32 (all zero) + a partial block of one zero
        Bnb4bit.Quantized4 q = Bnb4bit.quantize(x, BnbQuantType.NF4, 32);
        assertThat(q.absmax()).containsExactly(0f, Bnb4bit.MIN_ABSMAX); // full block: raw max; tail: clamped
        assertThat(q.packed()).hasSize(17);
        assertThat(q.packed()[16]).isEqualTo((byte) 0x77); // value 0 and torch's zero padding, both code 7
    }

    @Test
    void nativeLutMatchesItsDefinition() {
        float[] code = BnbCodes.dynamic8();
        byte[] lut = Bnb4bit.nativeLut(code);
        assertThat(lut[0] & 0xFF).isZero();          // -1.0 is at or below the first midpoint
        assertThat(lut[65535] & 0xFF).isEqualTo(255); // 1.0 is above the last midpoint
        assertThat(Bnb4bit.nativeLutIndex(-1f)).isZero();
        assertThat(Bnb4bit.nativeLutIndex(1f)).isEqualTo(65535);
        assertThat(Bnb4bit.nativeLutIndex(0f)).isEqualTo(32768); // 0.5 * 65535 + 0.5 = 32768.0
    }

    // ------------------------------------------------------------ kernels in pairs

    @ParameterizedTest
    @CsvSource({"1, 32, 1", "2, 64, 1000", "3, 64, 4096", "4, 128, 777", "5, 4096, 10000", "6, 32, 31"})
    void vectorDequantMatchesScalar(long seed, int blocksize, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] packed = new byte[(n + 1) / 2];
        for (int i = 0; i < packed.length; i++) {
            packed[i] = (byte) r.nextInt(256);
        }
        float[] absmax = new float[(n + blocksize - 1) / blocksize];
        for (int i = 0; i < absmax.length; i++) {
            absmax[i] = (float) r.nextDouble(0, 3);
        }
        for (BnbQuantType t : BnbQuantType.values()) {
            float[] a = new float[n];
            float[] b = new float[n];
            Bnb4bit.dequantizeScalar(MemorySegment.ofArray(packed), absmax, BnbCodes.of(t), blocksize, a);
            Bnb4bit.dequantizeVector(MemorySegment.ofArray(packed), absmax, BnbCodes.of(t), blocksize, b);
            assertBitsEqual(b, a, t + " seed " + seed);
        }
    }
}
