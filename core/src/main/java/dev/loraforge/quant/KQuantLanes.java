package dev.loraforge.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link KQuantSearch#makeQkx2Quants} and {@link KQuantSearch#makeQxQuants} run on {@link #LANES} groups at once: lane k computes group k's
 * sequential C code with the same float operations in the same order (no reordered sums, no FMA), so
 * every lane's result is bit-identical to the scalar search. Branches become per-lane blends.
 * Inputs are transposed: element i of group k is at {@code [i * LANES + k]}.
 */
final class KQuantLanes {
    private KQuantLanes() {
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    /** Groups searched together: the 8 groups of one Q4_K/Q5_K super-block, half of a Q6_K one. */
    static final int LANES = F.length();

    /** ggml's {@code nearest_int} lane-wise: the 1.5·2²³ trick, then clamp to [lo, hi], as float. */
    private static FloatVector nearestClamped(FloatVector v, int lo, int hi) {
        IntVector i = v.add(12582912.f).reinterpretAsInts().and(0x007fffff).sub(0x00400000);
        return (FloatVector) i.max(lo).min(hi).convert(VectorOperators.I2F, 0);
    }

    private static FloatVector nearestClamped(FloatVector v, int nmax) {
        return nearestClamped(v, 0, nmax);
    }

    /**
     * {@code make_qx_quants} (rmse_type 1, no importance weights) for {@link #LANES} groups of {@code n}, as
     * Q6_K runs it: levels + nmax (as floats, in [0, 2·nmax)) to {@code lq}, the scales to {@code scaleOut}.
     */
    static void makeQxQuants(int n, int nmax, float[] xt, float[] lq, float[] laux, float[] scaleOut) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector max = zero;
        FloatVector amax = zero;
        for (int i = 0; i < n; ++i) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            FloatVector ax = xi.abs();
            VectorMask<Float> bigger = ax.compare(VectorOperators.GT, amax);
            amax = amax.blend(ax, bigger);
            max = max.blend(xi, bigger);
        }
        VectorMask<Float> flat = amax.lt(KQuantSearch.GROUP_MAX_EPS); // C returns early: levels 0, scale 0
        FloatVector offset = FloatVector.broadcast(F, (float) nmax);
        FloatVector iscale = FloatVector.broadcast(F, (float) -nmax).div(max);
        FloatVector sumlx = zero;
        FloatVector suml2 = zero;
        for (int i = 0; i < n; ++i) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            FloatVector l = nearestClamped(iscale.mul(xi), -nmax, nmax - 1);
            l.add(offset).intoArray(lq, i * LANES);
            FloatVector w = xi.mul(xi);
            sumlx = sumlx.add(w.mul(xi).mul(l));
            suml2 = suml2.add(w.mul(l).mul(l));
        }
        FloatVector scale = sumlx.div(suml2).blend(zero, suml2.eq(0f));
        FloatVector best = scale.mul(sumlx);
        for (int is = -9; is <= 9; ++is) {
            if (is == 0) {
                continue;
            }
            iscale = FloatVector.broadcast(F, -(nmax + 0.1f * is)).div(max);
            sumlx = zero;
            suml2 = zero;
            for (int i = 0; i < n; ++i) {
                FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
                FloatVector l = nearestClamped(iscale.mul(xi), -nmax, nmax - 1);
                l.add(offset).intoArray(laux, i * LANES);
                FloatVector w = xi.mul(xi);
                sumlx = sumlx.add(w.mul(xi).mul(l));
                suml2 = suml2.add(w.mul(l).mul(l));
            }
            VectorMask<Float> better = suml2.compare(VectorOperators.GT, 0f)
                    .and(sumlx.mul(sumlx).compare(VectorOperators.GT, best.mul(suml2)));
            if (better.anyTrue()) {
                for (int i = 0; i < n; ++i) {
                    FloatVector.fromArray(F, lq, i * LANES)
                            .blend(FloatVector.fromArray(F, laux, i * LANES), better).intoArray(lq, i * LANES);
                }
                scale = scale.blend(sumlx.div(suml2), better);
                best = best.blend(scale.mul(sumlx), better);
            }
        }
        for (int i = 0; i < n; ++i) {
            FloatVector.fromArray(F, lq, i * LANES).blend(zero, flat).intoArray(lq, i * LANES);
        }
        scale.blend(zero, flat).intoArray(scaleOut, 0);
    }

    /**
     * The Q4_K/Q5_K group weights lane-wise: {@code av_x = sqrtf(sum x² / n)}, {@code w = av_x + |x|},
     * the sum of squares accumulated left to right per group as in C.
     */
    static void weights(int n, float[] xt, float[] wt) {
        FloatVector sumX2 = FloatVector.zero(F);
        for (int i = 0; i < n; ++i) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            sumX2 = sumX2.add(xi.mul(xi));
        }
        FloatVector avX = sumX2.div((float) n).sqrt();
        for (int i = 0; i < n; ++i) {
            avX.add(FloatVector.fromArray(F, xt, i * LANES).abs()).intoArray(wt, i * LANES);
        }
    }

    /**
     * {@code make_qkx2_quants} for {@link #LANES} groups of {@code n}: writes the levels (as floats, in
     * [0, nmax]) to {@code lq}, -min of each group to {@code theMin} and the scale to {@code scale}.
     * {@code laux} is scratch of {@code n * LANES} floats.
     */
    static void makeQkx2Quants(int n, int nmax, float[] xt, float[] wt, float[] lq, float[] laux, float[] scaleOut,
                               float[] theMinOut, float rmin, float rdelta, int nstep, boolean useMad) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector x0 = FloatVector.fromArray(F, xt, 0);
        FloatVector min = x0;
        FloatVector max = x0;
        FloatVector sumW = FloatVector.fromArray(F, wt, 0);
        FloatVector sumX = sumW.mul(x0);
        for (int i = 1; i < n; ++i) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            min = min.blend(xi, xi.lt(min)); // not min(): -0.0 and NaN must behave as the C comparison
            max = max.blend(xi, xi.compare(VectorOperators.GT, max));
            FloatVector w = FloatVector.fromArray(F, wt, i * LANES);
            sumW = sumW.add(w);
            sumX = sumX.add(w.mul(xi));
        }
        min = min.blend(zero, min.compare(VectorOperators.GT, 0f));
        VectorMask<Float> flat = max.eq(min); // C returns early for these lanes; their other results are discarded
        FloatVector flatMin = min;
        FloatVector iscale = FloatVector.broadcast(F, (float) nmax).div(max.sub(min));
        FloatVector scale = FloatVector.broadcast(F, 1f).div(iscale);
        FloatVector best = zero;
        for (int i = 0; i < n; ++i) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            FloatVector l = nearestClamped(iscale.mul(xi.sub(min)), nmax);
            l.intoArray(lq, i * LANES);
            FloatVector diff = scale.mul(l).add(min).sub(xi);
            diff = useMad ? diff.abs() : diff.mul(diff);
            best = best.add(FloatVector.fromArray(F, wt, i * LANES).mul(diff));
        }
        for (int is = 0; nstep >= 1 && is <= nstep; ++is) {
            // min moves when a candidate wins, as in C
            iscale = FloatVector.broadcast(F, rmin + rdelta * is + nmax).div(max.sub(min));
            FloatVector sumL = zero;
            FloatVector sumL2 = zero;
            FloatVector sumXl = zero;
            for (int i = 0; i < n; ++i) {
                FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
                FloatVector l = nearestClamped(iscale.mul(xi.sub(min)), nmax);
                l.intoArray(laux, i * LANES);
                FloatVector wl = FloatVector.fromArray(F, wt, i * LANES).mul(l);
                sumL = sumL.add(wl);
                sumL2 = sumL2.add(wl.mul(l));
                sumXl = sumXl.add(wl.mul(xi));
            }
            FloatVector det = sumW.mul(sumL2).sub(sumL.mul(sumL));
            VectorMask<Float> ok = det.compare(VectorOperators.GT, 0f);
            if (!ok.anyTrue()) {
                continue;
            }
            FloatVector thisScale = sumW.mul(sumXl).sub(sumX.mul(sumL)).div(det);
            FloatVector thisMin = sumL2.mul(sumX).sub(sumL.mul(sumXl)).div(det);
            VectorMask<Float> positive = thisMin.compare(VectorOperators.GT, 0f);
            thisMin = thisMin.blend(zero, positive);
            thisScale = thisScale.blend(sumXl.div(sumL2), positive);
            FloatVector cur = zero;
            for (int i = 0; i < n; ++i) {
                FloatVector diff = thisScale.mul(FloatVector.fromArray(F, laux, i * LANES)).add(thisMin)
                        .sub(FloatVector.fromArray(F, xt, i * LANES));
                diff = useMad ? diff.abs() : diff.mul(diff);
                cur = cur.add(FloatVector.fromArray(F, wt, i * LANES).mul(diff));
            }
            VectorMask<Float> better = ok.and(cur.lt(best));
            if (better.anyTrue()) {
                for (int i = 0; i < n; ++i) {
                    FloatVector.fromArray(F, lq, i * LANES)
                            .blend(FloatVector.fromArray(F, laux, i * LANES), better).intoArray(lq, i * LANES);
                }
                best = best.blend(cur, better);
                scale = scale.blend(thisScale, better);
                min = min.blend(thisMin, better);
            }
        }
        for (int i = 0; i < n; ++i) {
            FloatVector.fromArray(F, lq, i * LANES).blend(zero, flat).intoArray(lq, i * LANES);
        }
        min.blend(flatMin, flat).neg().intoArray(theMinOut, 0);
        scale.blend(zero, flat).intoArray(scaleOut, 0);
    }
}
