package dev.loraforge.merge;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loop of every merge: {@code x[j] += scale · Σ_k left[row,k]·right[k,j]} for output rows,
 * in float64 with the sum over k taken in order k = 0, 1, …, r−1 starting from 0 (as a BLAS dgemm and the
 * float64 reference do), then scaled and added to x. A scalar reference and a Vector API version that keeps
 * exactly the same operation order per element; they are tested against each other.
 *
 * <p>When both factors hold float32/bf16/f16 values ({@code exact}), each product is exact in float64, so
 * a fused multiply-add {@code round(l·r + acc)} equals {@code round(round(l·r) + acc)} bit for bit; the
 * vector kernel then uses one FMA per term. The vector kernel works on groups of four rows so each
 * loaded vector of {@code right} serves four accumulators.
 */
public abstract sealed class LowRankKernel {
    private static final LowRankKernel SCALAR = new Scalar();
    private static final LowRankKernel VECTOR = new Vector();
    private static final LowRankKernel DEFAULT =
            Boolean.parseBoolean(System.getProperty("loraforge.vector", "true")) ? VECTOR : SCALAR;

    public static LowRankKernel scalar() {
        return SCALAR;
    }

    public static LowRankKernel vector() {
        return VECTOR;
    }

    /** The vector kernel unless {@code -Dloraforge.vector=false}. */
    public static LowRankKernel preferred() {
        return DEFAULT;
    }

    /**
     * One whole row: {@code x[j] += scale · Σ_k left[row·r+k]·right[k·cols+j]} for j &lt; cols.
     * @param left  row-major {@code rows × r}
     * @param right row-major {@code r × cols}
     */
    public void addRow(double[] x, double scale, double[] left, int row, int r, double[] right, int cols) {
        addBlock(x, 0, cols, 1, scale, false, left, row, r, right, cols, 0, cols);
    }

    /**
     * A block of rows and columns: for i &lt; nRows and t &lt; n,
     * {@code x[xOff + i·xStride + t] += scale · Σ_k left[(row0+i)·r + k] · right[k·cols + j0 + t]}.
     * @param exact every value of {@code left} and {@code right} is a float32 (products exact in float64)
     */
    public abstract void addBlock(double[] x, int xOff, int xStride, int nRows, double scale, boolean exact,
                                  double[] left, int row0, int r, double[] right, int cols, int j0, int n);

    static final class Scalar extends LowRankKernel {
        @Override
        public void addBlock(double[] x, int xOff, int xStride, int nRows, double scale, boolean exact,
                             double[] left, int row0, int r, double[] right, int cols, int j0, int n) {
            for (int i = 0; i < nRows; i++) {
                int lo = (row0 + i) * r;
                int xo = xOff + i * xStride;
                for (int t = 0; t < n; t++) {
                    double acc = 0.0;
                    for (int k = 0; k < r; k++) {
                        acc += left[lo + k] * right[k * cols + j0 + t];
                    }
                    x[xo + t] += scale * acc;
                }
            }
        }
    }

    static final class Vector extends LowRankKernel {
        private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

        @Override
        public void addBlock(double[] x, int xOff, int xStride, int nRows, double scale, boolean exact,
                             double[] left, int row0, int r, double[] right, int cols, int j0, int n) {
            int bound = S.loopBound(n);
            int i = 0;
            for (; i + 4 <= nRows; i += 4) {
                if (exact) {
                    four(x, xOff + i * xStride, xStride, scale, left, (row0 + i) * r, r, right, cols, j0, bound);
                } else {
                    fourUnfused(x, xOff + i * xStride, xStride, scale, left, (row0 + i) * r, r, right, cols, j0, bound);
                }
            }
            for (; i < nRows; i++) {
                one(x, xOff + i * xStride, scale, left, (row0 + i) * r, r, right, cols, j0, bound);
            }
            if (bound < n) {
                SCALAR.addBlock(x, xOff + bound, xStride, nRows, scale, exact, left, row0, r, right, cols, j0 + bound, n - bound);
            }
        }

        /** Four rows, fused multiply-adds (exact products only). */
        private static void four(double[] x, int xo, int xs, double scale, double[] left, int lo, int r,
                                 double[] right, int cols, int j0, int bound) {
            for (int t = 0; t < bound; t += S.length()) {
                DoubleVector a0 = DoubleVector.zero(S);
                DoubleVector a1 = a0;
                DoubleVector a2 = a0;
                DoubleVector a3 = a0;
                int p = j0 + t;
                for (int k = 0; k < r; k++, p += cols) {
                    DoubleVector v = DoubleVector.fromArray(S, right, p);
                    a0 = v.fma(DoubleVector.broadcast(S, left[lo + k]), a0);
                    a1 = v.fma(DoubleVector.broadcast(S, left[lo + r + k]), a1);
                    a2 = v.fma(DoubleVector.broadcast(S, left[lo + 2 * r + k]), a2);
                    a3 = v.fma(DoubleVector.broadcast(S, left[lo + 3 * r + k]), a3);
                }
                addScaled(x, xo + t, a0, scale);
                addScaled(x, xo + xs + t, a1, scale);
                addScaled(x, xo + 2 * xs + t, a2, scale);
                addScaled(x, xo + 3 * xs + t, a3, scale);
            }
        }

        /** Four rows, product then sum (products that may round: float64 factors). */
        private static void fourUnfused(double[] x, int xo, int xs, double scale, double[] left, int lo, int r,
                                        double[] right, int cols, int j0, int bound) {
            for (int t = 0; t < bound; t += S.length()) {
                DoubleVector a0 = DoubleVector.zero(S);
                DoubleVector a1 = a0;
                DoubleVector a2 = a0;
                DoubleVector a3 = a0;
                int p = j0 + t;
                for (int k = 0; k < r; k++, p += cols) {
                    DoubleVector v = DoubleVector.fromArray(S, right, p);
                    a0 = a0.add(v.mul(left[lo + k]));
                    a1 = a1.add(v.mul(left[lo + r + k]));
                    a2 = a2.add(v.mul(left[lo + 2 * r + k]));
                    a3 = a3.add(v.mul(left[lo + 3 * r + k]));
                }
                addScaled(x, xo + t, a0, scale);
                addScaled(x, xo + xs + t, a1, scale);
                addScaled(x, xo + 2 * xs + t, a2, scale);
                addScaled(x, xo + 3 * xs + t, a3, scale);
            }
        }

        private static void one(double[] x, int xo, double scale, double[] left, int lo, int r,
                                double[] right, int cols, int j0, int bound) {
            for (int t = 0; t < bound; t += S.length()) {
                DoubleVector acc = DoubleVector.zero(S);
                int p = j0 + t;
                for (int k = 0; k < r; k++, p += cols) {
                    acc = acc.add(DoubleVector.fromArray(S, right, p).mul(left[lo + k]));
                }
                addScaled(x, xo + t, acc, scale);
            }
        }

        /** x += scale·acc: the product rounded, then the sum (never fused). */
        private static void addScaled(double[] x, int at, DoubleVector acc, double scale) {
            DoubleVector.fromArray(S, x, at).add(acc.mul(scale)).intoArray(x, at);
        }
    }
}
