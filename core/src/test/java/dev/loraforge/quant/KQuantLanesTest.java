package dev.loraforge.quant;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lane-wise {@code make_qkx2_quants} and {@code make_qx_quants} against the scalar transcriptions, bit for bit, group by group:
 * seeded random groups mixed with edge groups (flat, zeros, -0.0, subnormal, huge, NaN, inf) in the same batch,
 * so that lanes taking different branches sit side by side.
 */
class KQuantLanesTest {
    private static final int L = KQuantLanes.LANES;

    /** (label, n, nmax, rmin, rdelta, nstep, useMad): the parameter sets of Q4_K, Q5_K, Q2_K, and no search. */
    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (long seed = 1; seed <= 40; seed++) {
            out.add(Arguments.of("Q4_K", 32, 15, -1.f, 0.1f, 20, false, seed));
            out.add(Arguments.of("Q5_K", 32, 31, -0.5f, 0.1f, 15, false, seed));
            out.add(Arguments.of("Q2_K", 16, 3, -0.5f, 0.1f, 15, true, seed));
        }
        out.add(Arguments.of("no search", 32, 15, -1.f, 0.1f, 0, false, 99L));
        return out;
    }

    private static float[] group(SplittableRandom r, int n) {
        float[] g = new float[n];
        int kind = r.nextInt(14);
        float sigma = (float) Math.pow(10, r.nextInt(-6, 3));
        for (int i = 0; i < n; i++) {
            g[i] = switch (kind) {
                case 0 -> 0f;
                case 1 -> -0f;
                case 2 -> 0.75f;                                       // flat, positive
                case 3 -> -2.5f;                                       // flat, negative
                case 4 -> (float) (r.nextGaussian() * 1e-41);          // subnormals
                case 5 -> (float) (r.nextDouble() * sigma);           // all positive: min clamps to 0
                case 6 -> (i % 5 - 2) * 0.5f;                          // exact ties
                case 7 -> i == 3 ? 3e38f : (float) r.nextGaussian();  // huge outlier
                case 8 -> i == 7 ? Float.NaN : (float) r.nextGaussian();
                case 9 -> i == 1 ? Float.NEGATIVE_INFINITY : (float) r.nextGaussian();
                case 10 -> (float) -Math.abs(r.nextGaussian() * sigma);
                default -> (float) (r.nextGaussian() * sigma);
            };
        }
        return g;
    }

    @ParameterizedTest(name = "{0} seed {7}")
    @MethodSource("cases")
    void lanesMatchScalar(String label, int n, int nmax, float rmin, float rdelta, int nstep, boolean useMad, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] groups = new float[L][];
        float[][] weights = new float[L][];
        float[] xt = new float[n * L];
        float[] wt = new float[n * L];
        for (int k = 0; k < L; k++) {
            groups[k] = group(r, n);
            weights[k] = new float[n];
            for (int i = 0; i < n; i++) {
                // Q2_K weights |x|; others av_x + |x| (computed below for lane 0..L as the codec does)
                weights[k][i] = Math.abs(groups[k][i]) + (r.nextInt(4) == 0 ? 0f : (float) r.nextDouble());
                xt[i * L + k] = groups[k][i];
                wt[i * L + k] = weights[k][i];
            }
        }
        float[] lq = new float[n * L];
        float[] laux = new float[n * L];
        float[] scale = new float[L];
        float[] theMin = new float[L];
        KQuantLanes.makeQkx2Quants(n, nmax, xt, wt, lq, laux, scale, theMin, new float[KQuantLanes.STATE], rmin, rdelta,
                nstep, useMad);
        for (int k = 0; k < L; k++) {
            byte[] want = new byte[n];
            float[] wantMin = new float[1];
            float wantScale = KQuantSearch.makeQkx2Quants(n, nmax, groups[k], 0, weights[k], want, 0, wantMin,
                    new byte[n], rmin, rdelta, nstep, useMad);
            byte[] got = new byte[n];
            for (int i = 0; i < n; i++) {
                got[i] = (byte) lq[i * L + k];
            }
            String where = label + " seed " + seed + " lane " + k;
            assertThat(Float.floatToRawIntBits(scale[k])).as(where + " scale").isEqualTo(Float.floatToRawIntBits(wantScale));
            assertThat(Float.floatToRawIntBits(theMin[k])).as(where + " min").isEqualTo(Float.floatToRawIntBits(wantMin[0]));
            assertThat(got).as(where + " levels").isEqualTo(want);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("manySeeds")
    void qxLanesMatchScalar(long seed) {
        int n = 16;
        int nmax = 32; // Q6_K
        SplittableRandom r = new SplittableRandom(seed);
        float[][] groups = new float[L][];
        float[] xt = new float[n * L];
        for (int k = 0; k < L; k++) {
            groups[k] = group(r, n);
            for (int i = 0; i < n; i++) {
                xt[i * L + k] = groups[k][i];
            }
        }
        float[] lq = new float[n * L];
        float[] scale = new float[L];
        KQuantLanes.makeQxQuants(n, nmax, xt, lq, new float[n * L], scale, new float[KQuantLanes.STATE]);
        for (int k = 0; k < L; k++) {
            byte[] want = new byte[n];
            float wantScale = KQuantSearch.makeQxQuants(n, nmax, groups[k], 0, want, 0);
            byte[] got = new byte[n];
            for (int i = 0; i < n; i++) {
                got[i] = (byte) lq[i * L + k];
            }
            String where = "seed " + seed + " lane " + k;
            assertThat(Float.floatToRawIntBits(scale[k])).as(where + " scale").isEqualTo(Float.floatToRawIntBits(wantScale));
            assertThat(got).as(where + " levels").isEqualTo(want);
        }
    }

    static List<Long> manySeeds() {
        return java.util.stream.LongStream.rangeClosed(1, 60).boxed().toList();
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void weightsMatchScalar(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] xt = new float[32 * L];
        for (int i = 0; i < xt.length; i++) {
            xt[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-20, 20)));
        }
        float[] wt = new float[32 * L];
        KQuantLanes.weights(32, xt, wt);
        for (int k = 0; k < L; k++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; ++l) {
                sumX2 += xt[l * L + k] * xt[l * L + k];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; ++l) {
                assertThat(Float.floatToRawIntBits(wt[l * L + k])).as("lane " + k + " element " + l)
                        .isEqualTo(Float.floatToRawIntBits(avX + Math.abs(xt[l * L + k])));
            }
        }
    }

    static List<Long> seeds() {
        return List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
    }
}
