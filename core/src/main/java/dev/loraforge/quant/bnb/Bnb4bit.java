package dev.loraforge.quant.bnb;

import dev.loraforge.tensor.FloatConversions;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * bitsandbytes' blockwise 4-bit codec (NF4/FP4) and the 8-bit blockwise codec it uses to compress
 * absmax ("double quant"), with bitsandbytes' float32 operation order:
 * <ul>
 * <li>dequantize: {@code out[i] = code[nibble(i)] * absmax[i / blocksize]}, one float32 multiply, high
 *     nibble first (bitsandbytes' default and CPU kernels agree);</li>
 * <li>quantize (its only CPU path, the plain-torch one): full blocks scale by {@code x * (1f / absmax)},
 *     the trailing partial block by {@code x / absmax}, clamp to [-1, 1], then pick the code whose
 *     midpoint bucket holds the value ({@code torch.bucketize}, right=False: a value exactly on a
 *     midpoint goes to the lower code); FP4 maps sorted positions back through a stable argsort.</li>
 * </ul>
 */
public final class Bnb4bit {
    private Bnb4bit() {
    }

    /** Block sizes bitsandbytes accepts for 4-bit quantization. */
    public static final int[] BLOCKSIZES = {32, 64, 128, 256, 512, 1024, 2048, 4096};
    /** Double quantization compresses absmax in blocks of this many values. */
    public static final int NESTED_BLOCKSIZE = 256;
    /** bitsandbytes clamps a block's absmax to at least this before dividing. */
    static final float MIN_ABSMAX = 1e-38f;

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    /** How the 8-bit absmax quantization rounds; bitsandbytes has two CPU implementations that differ. */
    public enum Rounding {
        /**
         * The native CPU library (what a pip install of bitsandbytes runs): a 65,536-entry lookup table
         * over [-1, 1], index {@code (int)(((v + 1) * 0.5) * 65535 + 0.5)} with a fused multiply-add.
         */
        NATIVE_CPU_LUT,
        /** The plain-torch fallback: exact midpoint buckets, like the 4-bit path. */
        TORCH_BUCKETIZE
    }

    /** Packed nibbles and one float32 absmax per block, as {@code quantize_4bit} returns them. */
    public record Quantized4(byte[] packed, float[] absmax) {
    }

    /** 8-bit codes and one float32 absmax per block, as {@code quantize_blockwise} returns them. */
    public record Quantized8(byte[] codes, float[] absmax) {
    }

    /** Double-quantized absmax: {@code absmax[i] = code8[codes[i]] * nestedAbsmax[i / 256] + offset}. */
    public record DoubleQuant(float offset, byte[] codes, float[] nestedAbsmax) {
    }

    public static boolean isValidBlocksize(int b) {
        return Arrays.stream(BLOCKSIZES).anyMatch(x -> x == b);
    }

    // ---------------------------------------------------------------- dequantize

    /**
     * Dequantizes {@code out.length} values from packed nibbles with the vector kernel, or the scalar one when
     * the system property {@value FloatConversions#VECTOR_PROPERTY} is {@code false} (both give the same bits).
     */
    public static void dequantize(MemorySegment packed, float[] absmax, float[] code, int blocksize, float[] out) {
        if ("false".equalsIgnoreCase(System.getProperty(FloatConversions.VECTOR_PROPERTY))) {
            dequantizeScalar(packed, absmax, code, blocksize, out);
        } else {
            dequantizeVector(packed, absmax, code, blocksize, out);
        }
    }

    /** Reference kernel: one float32 multiply per value. */
    public static void dequantizeScalar(MemorySegment packed, float[] absmax, float[] code, int blocksize, float[] out) {
        checkDequant(packed, absmax, code, blocksize, out.length);
        for (int i = 0; i < out.length; i++) {
            int b = packed.get(ValueLayout.JAVA_BYTE, i >>> 1) & 0xFF;
            int nib = (i & 1) == 0 ? b >>> 4 : b & 0xF;
            out[i] = code[nib] * absmax[i / blocksize];
        }
    }

    /** Vector kernel: nibbles unpacked to indices, gathered from the code table, multiplied by the block scale. */
    public static void dequantizeVector(MemorySegment packed, float[] absmax, float[] code, int blocksize, float[] out) {
        checkDequant(packed, absmax, code, blocksize, out.length);
        int lanes = SPECIES.length();
        int[] idx = new int[lanes];
        int n = out.length;
        for (int start = 0; start < n; start += blocksize) {
            int end = Math.min(n, start + blocksize);
            float scale = absmax[start / blocksize];
            FloatVector vs = FloatVector.broadcast(SPECIES, scale);
            int i = start;
            for (; i + lanes <= end; i += lanes) {
                for (int k = 0; k < lanes; k += 2) { // blocksize and lanes are even: i + k is even
                    int b = packed.get(ValueLayout.JAVA_BYTE, (i + k) >>> 1) & 0xFF;
                    idx[k] = b >>> 4;
                    idx[k + 1] = b & 0xF;
                }
                FloatVector.fromArray(SPECIES, code, 0, idx, 0).mul(vs).intoArray(out, i);
            }
            for (; i < end; i++) {
                int b = packed.get(ValueLayout.JAVA_BYTE, i >>> 1) & 0xFF;
                out[i] = code[(i & 1) == 0 ? b >>> 4 : b & 0xF] * scale;
            }
        }
    }

    private static void checkDequant(MemorySegment packed, float[] absmax, float[] code, int blocksize, long n) {
        if (code.length != 16) {
            throw new IllegalArgumentException("4-bit code table has " + code.length + " values, expected 16");
        }
        if (blocksize <= 0 || blocksize % 2 != 0) {
            throw new IllegalArgumentException("blocksize " + blocksize);
        }
        if (packed.byteSize() < (n + 1) / 2) {
            throw new IllegalArgumentException(n + " values need " + (n + 1) / 2 + " packed bytes, got " + packed.byteSize());
        }
        if (absmax.length < (n + blocksize - 1) / blocksize) {
            throw new IllegalArgumentException(n + " values in blocks of " + blocksize + " need "
                    + (n + blocksize - 1) / blocksize + " absmax values, got " + absmax.length);
        }
    }

    /** Undoes double quantization: {@code code8[q] * nestedAbsmax[i / nestedBlocksize]}, then {@code + offset}. */
    public static float[] dequantizeAbsmax(byte[] codes, float[] nestedAbsmax, float[] nestedCode, int nestedBlocksize,
            float offset) {
        if (nestedCode.length != 256) {
            throw new IllegalArgumentException("8-bit code table has " + nestedCode.length + " values, expected 256");
        }
        if (nestedAbsmax.length < (codes.length + nestedBlocksize - 1) / nestedBlocksize) {
            throw new IllegalArgumentException(codes.length + " codes need more than " + nestedAbsmax.length
                    + " nested absmax values");
        }
        float[] out = new float[codes.length];
        for (int i = 0; i < codes.length; i++) {
            float v = nestedCode[codes[i] & 0xFF] * nestedAbsmax[i / nestedBlocksize];
            out[i] = v + offset;
        }
        return out;
    }

    // ---------------------------------------------------------------- quantize

    /** {@code quantize_4bit} on CPU: packed nibbles (two per byte, first value high) and per-block absmax. */
    public static Quantized4 quantize(float[] x, BnbQuantType type, int blocksize) {
        if (!isValidBlocksize(blocksize)) {
            throw new IllegalArgumentException("blocksize " + blocksize + " is not one of " + Arrays.toString(BLOCKSIZES));
        }
        float[] code = BnbCodes.of(type);
        int[] order = stableArgsort(code);
        float[] sorted = new float[16];
        for (int i = 0; i < 16; i++) {
            sorted[i] = code[order[i]];
        }
        float[] bounds = midpoints(sorted);
        float[] absmax = new float[(x.length + blocksize - 1) / blocksize];
        float[] scaled = scale(x, blocksize, absmax);
        byte[] packed = new byte[(x.length + 1) / 2];
        for (int i = 0; i < x.length; i += 2) {
            int hi = order[bucketize(scaled[i], bounds)];
            int lo = order[bucketize(i + 1 < x.length ? scaled[i + 1] : 0f, bounds)]; // torch pads with 0.0
            packed[i >>> 1] = (byte) (hi << 4 | lo);
        }
        return new Quantized4(packed, absmax);
    }

    /** {@code quantize_blockwise} (8-bit, sorted 256-value code) with the chosen CPU rounding. */
    public static Quantized8 quantizeBlockwise8(float[] x, float[] code, int blocksize, Rounding rounding) {
        if (code.length != 256) {
            throw new IllegalArgumentException("8-bit code table has " + code.length + " values");
        }
        float[] absmax = new float[(x.length + blocksize - 1) / blocksize];
        byte[] out = new byte[x.length];
        if (rounding == Rounding.TORCH_BUCKETIZE) {
            float[] bounds = midpoints(code);
            float[] scaled = scale(x, blocksize, absmax);
            for (int i = 0; i < x.length; i++) {
                out[i] = (byte) bucketize(scaled[i], bounds);
            }
            return new Quantized8(out, absmax);
        }
        byte[] lut = nativeLut(code);
        for (int b = 0; b < absmax.length; b++) {
            int start = b * blocksize;
            int end = Math.min(x.length, start + blocksize);
            float m = 0f;
            for (int i = start; i < end; i++) {
                m = Math.max(m, Math.abs(x[i]));
            }
            absmax[b] = m;
            if (m == 0f) {
                continue; // codes stay 0, as the native kernel writes them
            }
            float inv = 1.0f / m;
            for (int i = start; i < end; i++) {
                out[i] = lut[nativeLutIndex(x[i] * inv)];
            }
        }
        return new Quantized8(out, absmax);
    }

    /**
     * Double quantization as {@code quantize_4bit(compress_statistics=True)} does it: subtract the mean,
     * then 8-bit blockwise quantization with the dynamic map in blocks of 256. The mean is the float64
     * sum divided by the count, rounded once to float32; torch's float32 {@code mean()} may differ from
     * it in the last bit (its summation order is its own), so the offset is the one value that is not
     * guaranteed bit-identical to bitsandbytes. The stored offset is what readers use.
     */
    public static DoubleQuant doubleQuantize(float[] absmax, Rounding rounding) {
        double sum = 0;
        for (float a : absmax) {
            sum += a;
        }
        float offset = (float) (sum / absmax.length);
        float[] centered = new float[absmax.length];
        for (int i = 0; i < absmax.length; i++) {
            centered[i] = absmax[i] - offset;
        }
        Quantized8 q = quantizeBlockwise8(centered, BnbCodes.dynamic8(), NESTED_BLOCKSIZE, rounding);
        return new DoubleQuant(offset, q.codes(), q.absmax());
    }

    /** Scales each block into [-1, 1] as bitsandbytes' torch path does, filling {@code absmax}. */
    private static float[] scale(float[] x, int blocksize, float[] absmax) {
        float[] scaled = new float[x.length];
        int full = x.length - x.length % blocksize;
        for (int b = 0; b < absmax.length; b++) {
            int start = b * blocksize;
            int end = Math.min(x.length, start + blocksize);
            float m = 0f;
            for (int i = start; i < end; i++) {
                m = Math.max(m, Math.abs(x[i]));
            }
            float clamped = Math.max(m, MIN_ABSMAX);
            if (start < full) {
                absmax[b] = m;
                float inv = 1.0f / clamped;
                for (int i = start; i < end; i++) {
                    scaled[i] = clamp(x[i] * inv);
                }
            } else {
                absmax[b] = clamped; // the partial block stores the clamped value
                for (int i = start; i < end; i++) {
                    scaled[i] = clamp(x[i] / clamped);
                }
            }
        }
        return scaled;
    }

    private static float clamp(float v) {
        return Math.min(1f, Math.max(-1f, v));
    }

    /** {@code (a + b) / 2} in float32 for neighbours of a sorted table. */
    private static float[] midpoints(float[] sorted) {
        float[] m = new float[sorted.length - 1];
        for (int i = 0; i < m.length; i++) {
            m[i] = (sorted[i] + sorted[i + 1]) / 2f;
        }
        return m;
    }

    /** {@code torch.bucketize(v, bounds, right=False)}: the number of bounds strictly below v. */
    static int bucketize(float v, float[] bounds) {
        int lo = 0;
        int hi = bounds.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (bounds[mid] < v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Indices that sort {@code code} ascending, equal values kept in index order (torch's argsort gives this). */
    static int[] stableArgsort(float[] code) {
        Integer[] idx = new Integer[code.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> Float.compare(code[a] + 0f, code[b] + 0f)); // + 0f: -0 ties with +0
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }

    static final int LUT_SIZE = 65536;

    /** The native CPU kernel's table: for each of 65,536 points of [-1, 1], the first code whose upper midpoint is not below it. */
    static byte[] nativeLut(float[] code) {
        float[] mid = new float[code.length - 1];
        for (int i = 0; i < mid.length; i++) {
            mid[i] = 0.5f * (code[i] + code[i + 1]);
        }
        byte[] lut = new byte[LUT_SIZE];
        int c = 0;
        for (int i = 0; i < LUT_SIZE; i++) {
            float val = -1.0f + (2.0f * i) / (float) (LUT_SIZE - 1);
            while (c < mid.length && mid[c] < val) {
                c++;
            }
            lut[i] = (byte) c;
        }
        return lut;
    }

    /** {@code (uint16_t)((clamp(v) + 1) * 0.5 * 65535 + 0.5)}; the last multiply-add is fused as GCC emits it with FMA. */
    static int nativeLutIndex(float v) {
        float c = clamp(v);
        float t = (c + 1.0f) * 0.5f;
        return (int) Math.fma(t, (float) (LUT_SIZE - 1), 0.5f);
    }
}
