package dev.loraforge.merge;

/**
 * numpy's pairwise summation of float64 ({@code DOUBLE_pairwise_sum}: blocks of at most 128 summed with
 * eight interleaved accumulators, halves rounded down to a multiple of 8 above that). The float64 reference
 * computes DoRA's row norms with {@code np.linalg.norm(W, axis=1)}, i.e. this sum of squares, so we sum in
 * exactly this order to get the same bits.
 */
public final class PairwiseSum {
    private static final int BLOCK = 128;

    private PairwiseSum() {
    }

    /** √(Σ x²) over {@code x[from, from+n)} summed like numpy. */
    public static double norm(double[] x, int from, int n) {
        double[] sq = new double[n];
        for (int i = 0; i < n; i++) {
            sq[i] = x[from + i] * x[from + i];
        }
        return Math.sqrt(sum(sq, 0, n));
    }

    public static double sum(double[] a, int from, int n) {
        if (n < 8) {
            double res = 0.0;
            for (int i = 0; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        if (n <= BLOCK) {
            double[] r = new double[8];
            System.arraycopy(a, from, r, 0, 8);
            int i = 8;
            for (; i < n - (n % 8); i += 8) {
                for (int k = 0; k < 8; k++) {
                    r[k] += a[from + i + k];
                }
            }
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return sum(a, from, n2) + sum(a, from + n2, n - n2);
    }
}
