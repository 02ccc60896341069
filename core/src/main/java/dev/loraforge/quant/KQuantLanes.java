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
     * Q6_K runs it: levels + nmax (as floats, in [0, 2·nmax)) to {@code lq}, the scales to {@code scaleOut};
     * {@code state} holds {@link #STATE} floats (see {@link #makeQkx2Quants} for why).
     */
    static void makeQxQuants(int n, int nmax, float[] xt, float[] lq, float[] laux, float[] scaleOut, float[] state) {
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
        scale.intoArray(state, SCALE);
        scale.mul(sumlx).intoArray(state, BEST);
        max.intoArray(state, MAX);
        amax.intoArray(state, FLAT_MIN);
        for (int is = -9; is <= 9; ++is) {
            if (is != 0) {
                qxCandidate(n, nmax, xt, lq, laux, state, -(nmax + 0.1f * is));
            }
        }
        // amax below GROUP_MAX_EPS: C returned early (levels 0, scale 0)
        VectorMask<Float> flat = FloatVector.fromArray(F, state, FLAT_MIN).lt(KQuantSearch.GROUP_MAX_EPS);
        FloatVector none = FloatVector.zero(F);
        for (int i = 0; i < n; ++i) {
            FloatVector.fromArray(F, lq, i * LANES).blend(none, flat).intoArray(lq, i * LANES);
        }
        FloatVector.fromArray(F, state, SCALE).blend(none, flat).intoArray(scaleOut, 0);
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

    /** Offsets in the state array of {@link #makeQkx2Quants}: one vector each. */
    private static final int MIN = 0;
    private static final int SCALE = LANES;
    private static final int BEST = 2 * LANES;
    private static final int MAX = 3 * LANES;
    private static final int SUM_W = 4 * LANES;
    private static final int SUM_X = 5 * LANES;
    private static final int FLAT_MIN = 6 * LANES;
    /** Floats of scratch state {@link #makeQkx2Quants} needs. */
    static final int STATE = 7 * LANES;

    /**
     * {@code make_qkx2_quants} for {@link #LANES} groups of {@code n}: writes the levels (as floats, in
     * [0, nmax]) to {@code lq}, -min of each group to {@code theMin} and the scale to {@code scale}.
     * {@code laux} is scratch of {@code n * LANES} floats, {@code state} of {@link #STATE}.
     * The search state goes through {@code state} at every step: vectors carried around the candidate loop's
     * branches are not scalarized by C2 and each step would allocate boxes.
     */
    static void makeQkx2Quants(int n, int nmax, float[] xt, float[] wt, float[] lq, float[] laux, float[] scaleOut,
                               float[] theMinOut, float[] state, float rmin, float rdelta, int nstep, boolean useMad) {
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
        min.intoArray(state, MIN);
        min.intoArray(state, FLAT_MIN);
        scale.intoArray(state, SCALE);
        best.intoArray(state, BEST);
        max.intoArray(state, MAX);
        sumW.intoArray(state, SUM_W);
        sumX.intoArray(state, SUM_X);
        for (int is = 0; nstep >= 1 && is <= nstep; ++is) {
            candidate(n, nmax, xt, wt, lq, laux, state, rmin + rdelta * is + nmax, useMad);
        }
        // lanes with max == min: C returned early (levels 0, scale 0, -min); their other results are discarded
        FloatVector flatMin = FloatVector.fromArray(F, state, FLAT_MIN);
        VectorMask<Float> flat = FloatVector.fromArray(F, state, MAX).eq(flatMin);
        FloatVector none = FloatVector.zero(F);
        for (int i = 0; i < n; ++i) {
            FloatVector.fromArray(F, lq, i * LANES).blend(none, flat).intoArray(lq, i * LANES);
        }
        FloatVector.fromArray(F, state, MIN).blend(flatMin, flat).neg().intoArray(theMinOut, 0);
        FloatVector.fromArray(F, state, SCALE).blend(none, flat).intoArray(scaleOut, 0);
    }

    /** One candidate scale {@code (rmin + rdelta·is + nmax) / (max - min)} of the search, state in and out. */
    private static void candidate(int n, int nmax, float[] xt, float[] wt, float[] lq, float[] laux, float[] state,
                                  float numerator, boolean useMad) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector min = FloatVector.fromArray(F, state, MIN); // min moves when a candidate wins, as in C
        FloatVector iscale = FloatVector.broadcast(F, numerator).div(FloatVector.fromArray(F, state, MAX).sub(min));
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
        FloatVector sumW = FloatVector.fromArray(F, state, SUM_W);
        FloatVector sumX = FloatVector.fromArray(F, state, SUM_X);
        FloatVector det = sumW.mul(sumL2).sub(sumL.mul(sumL));
        VectorMask<Float> ok = det.compare(VectorOperators.GT, 0f);
        if (!ok.anyTrue()) {
            return;
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
        FloatVector best = FloatVector.fromArray(F, state, BEST);
        VectorMask<Float> better = ok.and(cur.lt(best));
        if (!better.anyTrue()) {
            return;
        }
        for (int i = 0; i < n; ++i) {
            FloatVector.fromArray(F, lq, i * LANES)
                    .blend(FloatVector.fromArray(F, laux, i * LANES), better).intoArray(lq, i * LANES);
        }
        best.blend(cur, better).intoArray(state, BEST);
        FloatVector.fromArray(F, state, SCALE).blend(thisScale, better).intoArray(state, SCALE);
        min.blend(thisMin, better).intoArray(state, MIN);
    }

    /** One candidate {@code iscale = numerator / max} of {@code make_qx_quants}, state in and out. */
    private static void qxCandidate(int n, int nmax, float[] xt, float[] lq, float[] laux, float[] state, float numerator) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector offset = FloatVector.broadcast(F, (float) nmax);
        FloatVector iscale = FloatVector.broadcast(F, numerator).div(FloatVector.fromArray(F, state, MAX));
        FloatVector sumlx = zero;
        FloatVector suml2 = zero;
        for (int i = 0; i < n; ++i) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            FloatVector l = nearestClamped(iscale.mul(xi), -nmax, nmax - 1);
            l.add(offset).intoArray(laux, i * LANES);
            FloatVector w = xi.mul(xi);
            sumlx = sumlx.add(w.mul(xi).mul(l));
            suml2 = suml2.add(w.mul(l).mul(l));
        }
        FloatVector best = FloatVector.fromArray(F, state, BEST);
        VectorMask<Float> better = suml2.compare(VectorOperators.GT, 0f)
                .and(sumlx.mul(sumlx).compare(VectorOperators.GT, best.mul(suml2)));
        if (!better.anyTrue()) {
            return;
        }
        for (int i = 0; i < n; ++i) {
            FloatVector.fromArray(F, lq, i * LANES)
                    .blend(FloatVector.fromArray(F, laux, i * LANES), better).intoArray(lq, i * LANES);
        }
        FloatVector scale = FloatVector.fromArray(F, state, SCALE).blend(sumlx.div(suml2), better);
        scale.intoArray(state, SCALE);
        best.blend(scale.mul(sumlx), better).intoArray(state, BEST);
    }
}
