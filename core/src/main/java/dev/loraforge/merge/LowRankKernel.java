package dev.loraforge.merge;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loop of every merge: {@code x[j] += scale · Σ_k left[row,k]·right[k,j]} for one output row,
 * in float64 with the sum over k taken in order k = 0, 1, …, r−1 starting from 0 (as a BLAS dgemm and the
 * float64 reference do; each product of two float32/bf16/f16 values is exact in float64, so a fused
 * multiply-add would not change a bit either). A scalar reference and a Vector API version that keeps
 * exactly the same operation order per element; they are tested against each other.
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
     * @param x     the output row, {@code cols} values, updated in place
     * @param left  row-major {@code rows × r}
     * @param right row-major {@code r × cols}
     */
    public abstract void addRow(double[] x, double scale, double[] left, int row, int r, double[] right, int cols);

    static final class Scalar extends LowRankKernel {
        @Override
        public void addRow(double[] x, double scale, double[] left, int row, int r, double[] right, int cols) {
            int lo = row * r;
            for (int j = 0; j < cols; j++) {
                double acc = 0.0;
                for (int k = 0; k < r; k++) {
                    acc += left[lo + k] * right[k * cols + j];
                }
                x[j] += scale * acc;
            }
        }
    }

    static final class Vector extends LowRankKernel {
        private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

        @Override
        public void addRow(double[] x, double scale, double[] left, int row, int r, double[] right, int cols) {
            int lo = row * r;
            int bound = S.loopBound(cols);
            int j = 0;
            for (; j < bound; j += S.length()) {
                DoubleVector acc = DoubleVector.zero(S);
                for (int k = 0; k < r; k++) {
                    acc = acc.add(DoubleVector.fromArray(S, right, k * cols + j).mul(left[lo + k]));
                }
                DoubleVector.fromArray(S, x, j).add(acc.mul(scale)).intoArray(x, j);
            }
            for (; j < cols; j++) {
                double acc = 0.0;
                for (int k = 0; k < r; k++) {
                    acc += left[lo + k] * right[k * cols + j];
                }
                x[j] += scale * acc;
            }
        }
    }
}
