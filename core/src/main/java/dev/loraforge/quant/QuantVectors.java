package dev.loraforge.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels behind the {@code VECTOR} codec instances. They only do work whose result does
 * not depend on evaluation order: max of |x| (a NaN sends the block back to the scalar path, whose C
 * comparison semantics a vector max does not share), element-wise products and quotients, ggml's
 * {@code nearest_int} trick, int widening. Every rounded sum stays in the scalar code, in C order.
 * Each kernel is tested against its scalar twin.
 */
final class QuantVectors {
    private QuantVectors() {
    }

    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;

    /** max |x[off..off+n)|, or NaN when a NaN is present (n a multiple of 8). */
    private static float absMax(float[] x, int off, int n) {
        FloatVector acc = FloatVector.zero(F8);
        for (int j = 0; j < n; j += 8) {
            acc = acc.max(FloatVector.fromArray(F8, x, off + j).abs());
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    static void quantizeQ8_0(float[] x, int xOff, byte[] out) {
        float amax = absMax(x, xOff, 32);
        if (Float.isNaN(amax)) {
            Q8_0Codec.SCALAR.quantizeBlock(x, xOff, out);
            return;
        }
        float d = amax / ((1 << 7) - 1);
        float id = d != 0 ? 1.0f / d : 0.0f;
        if (Float.isInfinite(id)) { // subnormal d: C's out-of-range conversions, done by the scalar path
            Q8_0Codec.SCALAR.quantizeBlock(x, xOff, out);
            return;
        }
        BlockCodec.putHalf(out, 0, d);
        for (int j = 0; j < 32; j += 8) {
            FloatVector v = FloatVector.fromArray(F8, x, xOff + j).mul(id);
            // roundf: truncate, then step away from zero when the dropped part is >= 0.5
            IntVector t = (IntVector) v.convertShape(VectorOperators.F2I, I8, 0);
            FloatVector tf = (FloatVector) t.convertShape(VectorOperators.I2F, F8, 0);
            VectorMask<Float> up = v.sub(tf).abs().compare(VectorOperators.GE, 0.5f);
            VectorMask<Float> neg = v.compare(VectorOperators.LT, 0f);
            IntVector step = IntVector.zero(I8).blend(1, up.cast(I8)).blend(-1, up.and(neg).cast(I8));
            ByteVector q = (ByteVector) t.add(step).convertShape(VectorOperators.I2B, B8, 0);
            q.intoArray(out, 2 + j);
        }
    }

    static void dequantizeQ8_0(byte[] in, float d, float[] y, int yOff) {
        for (int j = 0; j < 32; j += 8) {
            FloatVector q = (FloatVector) ByteVector.fromArray(B8, in, 2 + j).convertShape(VectorOperators.B2F, F8, 0);
            q.mul(d).intoArray(y, yOff + j);
        }
    }

    static void quantizeQ4_0(float[] x, int xOff, byte[] out) {
        float amax = absMax(x, xOff, 32);
        if (Float.isNaN(amax)) {
            Q4_0Codec.SCALAR.quantizeBlock(x, xOff, out);
            return;
        }
        float max = 0.0f; // stays +0 for an all-zero block, as in ggml
        if (amax > 0) {
            for (int j = 0; j < 32; j++) { // the first value of largest magnitude keeps its sign
                if (Math.abs(x[xOff + j]) == amax) {
                    max = x[xOff + j];
                    break;
                }
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        if (Float.isInfinite(id)) {
            Q4_0Codec.SCALAR.quantizeBlock(x, xOff, out);
            return;
        }
        BlockCodec.putHalf(out, 0, d);
        byte[] q = new byte[32];
        for (int j = 0; j < 32; j += 8) {
            FloatVector v = FloatVector.fromArray(F8, x, xOff + j).mul(id).add(8.5f);
            IntVector t = (IntVector) v.convertShape(VectorOperators.F2I, I8, 0);
            ByteVector b = (ByteVector) t.convertShape(VectorOperators.I2B, B8, 0);
            b.min((byte) 15).intoArray(q, j);
        }
        for (int j = 0; j < 16; ++j) {
            out[2 + j] = (byte) ((q[j] & 0xFF) | (q[j + 16] << 4));
        }
    }

    static void dequantizeQ4_0(byte[] in, float d, float[] y, int yOff) {
        for (int j = 0; j < 16; j += 8) {
            ByteVector b = ByteVector.fromArray(B8, in, 2 + j);
            ByteVector lo = b.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = b.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            ((FloatVector) lo.convertShape(VectorOperators.B2F, F8, 0)).mul(d).intoArray(y, yOff + j);
            ((FloatVector) hi.convertShape(VectorOperators.B2F, F8, 0)).mul(d).intoArray(y, yOff + j + 16);
        }
    }

    /** ggml's nearest_int on every lane: add 1.5·2^23, take the mantissa bits. */
    private static IntVector nearestInt(FloatVector v) {
        IntVector bits = (IntVector) v.add(12582912.f).reinterpretShape(I8, 0);
        return bits.and(0x007fffff).sub(0x00400000);
    }

    /** 32 values: L = clamp(nearest_int((x + dm)/d), 0, nmax), as the Q4_K/Q5_K requantization. */
    static void requantizeAffine(float[] x, int xOff, float dm, float d, int nmax, byte[] lq, int lOff) {
        for (int j = 0; j < 32; j += 8) {
            FloatVector v = FloatVector.fromArray(F8, x, xOff + j).add(dm).div(d);
            IntVector l = nearestInt(v).max(0).min(nmax);
            ((ByteVector) l.convertShape(VectorOperators.I2B, B8, 0)).intoArray(lq, lOff + j);
        }
    }

    /** 16 values: L = clamp(nearest_int(x/d), -32, 31) + 32, as the Q6_K requantization. */
    static void requantizeSymmetric(float[] x, int xOff, float d, byte[] lq, int lOff) {
        for (int j = 0; j < 16; j += 8) {
            FloatVector v = FloatVector.fromArray(F8, x, xOff + j).div(d);
            IntVector l = nearestInt(v).max(-32).min(31).add(32);
            ((ByteVector) l.convertShape(VectorOperators.I2B, B8, 0)).intoArray(lq, lOff + j);
        }
    }

    /** 64 values of Q4_K: d1·(low nibble) - m1 for 32 bytes, then d2·(high nibble) - m2. */
    static void dequantizeNibbles(byte[] in, int q, float d1, float m1, float d2, float m2, float[] y, int yOff) {
        for (int l = 0; l < 32; l += 8) {
            ByteVector b = ByteVector.fromArray(B8, in, q + l);
            FloatVector lo = (FloatVector) b.and((byte) 0x0F).convertShape(VectorOperators.B2F, F8, 0);
            FloatVector hi = (FloatVector) b.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F8, 0);
            lo.mul(d1).sub(m1).intoArray(y, yOff + l);
            hi.mul(d2).sub(m2).intoArray(y, yOff + 32 + l);
        }
    }

    static void dequantizeQ6_K(byte[] in, float d, float[] y, int yOff) {
        int ql = 0;
        int qh = 128;
        int sc = 192;
        int yi = yOff;
        for (int n = 0; n < 256; n += 128) {
            for (int l = 0; l < 32; l += 8) {
                int is = l / 16;
                ByteVector lo = ByteVector.fromArray(B8, in, ql + l);
                ByteVector lo32 = ByteVector.fromArray(B8, in, ql + l + 32);
                ByteVector h = ByteVector.fromArray(B8, in, qh + l);
                ByteVector q1 = lo.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q2 = lo32.and((byte) 0xF).or(h.lanewise(VectorOperators.LSHR, 2).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q3 = lo.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 4).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q4 = lo32.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 6).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                // d·sc·q is (d·sc)·q in C: the product d·sc is the same for the 8 lanes
                ((FloatVector) q1.convertShape(VectorOperators.B2F, F8, 0)).mul(d * in[sc + is]).intoArray(y, yi + l);
                ((FloatVector) q2.convertShape(VectorOperators.B2F, F8, 0)).mul(d * in[sc + is + 2]).intoArray(y, yi + l + 32);
                ((FloatVector) q3.convertShape(VectorOperators.B2F, F8, 0)).mul(d * in[sc + is + 4]).intoArray(y, yi + l + 64);
                ((FloatVector) q4.convertShape(VectorOperators.B2F, F8, 0)).mul(d * in[sc + is + 6]).intoArray(y, yi + l + 96);
            }
            yi += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }

    /** 8 bytes from {@code in[off..]} as unsigned ints. */
    private static IntVector u8(byte[] in, int off) {
        return ((IntVector) ByteVector.fromArray(B8, in, off).convertShape(VectorOperators.B2I, I8, 0)).and(0xFF);
    }

    private static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.convertShape(VectorOperators.I2F, F8, 0);
    }

    /** Lane numbers 0..7. */
    private static final IntVector IOTA = IntVector.fromArray(I8, new int[]{0, 1, 2, 3, 4, 5, 6, 7}, 0);

    /**
     * The 32-value legacy blocks with a nibble array at {@code qs} (values j and j+16 in byte j), optional
     * fifth bits in the 32-bit word {@code qh}, an offset subtracted from each quant and an optional min:
     * y = (q - offset)·d (+ m).
     */
    static void dequantizeLegacy(byte[] in, int qs, boolean hasQh, int qh, int offset, float d, float m, boolean hasMin,
                                 float[] y, int yOff) {
        for (int j = 0; j < 16; j += 8) {
            IntVector b = u8(in, qs + j);
            IntVector lo = b.and(0x0F);
            IntVector hi = b.lanewise(VectorOperators.LSHR, 4);
            if (hasQh) {
                IntVector shifts = IOTA.add(j);
                IntVector word = IntVector.broadcast(I8, qh);
                lo = lo.or(word.lanewise(VectorOperators.LSHR, shifts).and(1).lanewise(VectorOperators.LSHL, 4));
                hi = hi.or(word.lanewise(VectorOperators.LSHR, shifts.add(16)).and(1).lanewise(VectorOperators.LSHL, 4));
            }
            FloatVector flo = toFloat(lo.sub(offset)).mul(d);
            FloatVector fhi = toFloat(hi.sub(offset)).mul(d);
            if (hasMin) {
                flo = flo.add(m);
                fhi = fhi.add(m);
            }
            flo.intoArray(y, yOff + j);
            fhi.intoArray(y, yOff + j + 16);
        }
    }

    /** 16 values of a Q2_K/Q3_K group: dl·(((q >> shift) & 3) - sub) - ml, sub 4 where the hmask bit is clear. */
    static void dequantize2Bit(byte[] in, int q, int shift, float dl, float ml, int hmask, int m, float[] y, int yOff) {
        for (int l = 0; l < 16; l += 8) {
            IntVector v = u8(in, q + l).lanewise(VectorOperators.LSHR, shift).and(3);
            if (hmask >= 0) {
                VectorMask<Integer> clear = u8(in, hmask + l).and(m).compare(VectorOperators.EQ, 0);
                v = v.sub(IntVector.zero(I8).blend(4, clear));
            }
            FloatVector f = toFloat(v).mul(dl);
            if (hmask < 0) {
                f = f.sub(ml);
            }
            f.intoArray(y, yOff + l);
        }
    }

    /** 64 values of Q5_K: d1·(low nibble + 16·bit u1 of qh) - m1, then the high nibbles with bit u2. */
    static void dequantizeQ5_K(byte[] in, int ql, int qh, int u1, int u2, float d1, float m1, float d2, float m2,
                               float[] y, int yOff) {
        for (int l = 0; l < 32; l += 8) {
            IntVector b = u8(in, ql + l);
            IntVector h = u8(in, qh + l);
            IntVector lo = b.and(0xF).add(IntVector.zero(I8).blend(16, h.and(u1).compare(VectorOperators.NE, 0)));
            IntVector hi = b.lanewise(VectorOperators.LSHR, 4).add(IntVector.zero(I8).blend(16, h.and(u2).compare(VectorOperators.NE, 0)));
            toFloat(lo).mul(d1).sub(m1).intoArray(y, yOff + l);
            toFloat(hi).mul(d2).sub(m2).intoArray(y, yOff + 32 + l);
        }
    }
}
