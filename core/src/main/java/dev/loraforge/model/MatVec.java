package dev.loraforge.model;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code y = W·x} for a row-major float matrix: a scalar reference and a Vector API kernel, both with
 * float64 accumulators (products of two floats are exact in double, so the two differ only in the
 * order of a float64 sum: far below float32 resolution). Rows are split in chunks over the cores
 * ({@link RowChunks}) when the matrix is large enough to pay for it.
 */
public final class MatVec {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Same bit width as {@link #F}: one float vector converts to two of these. */
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

    /** {@code -Dloraforge.kernels=scalar} forces the reference kernels (for debugging and comparisons). */
    static final boolean VECTOR = !"scalar".equals(System.getProperty("loraforge.kernels"))
            && F.length() == 2 * D.length();

    /** Below this many multiply-adds a matrix is done on the calling thread. */
    static final long PARALLEL_THRESHOLD = 1 << 18;
    private static final int ROWS_PER_TASK = 64;

    private MatVec() {
    }

    /** {@code y[0..rows) = W·x} with {@code W} at {@code w[wOff ..]}, rows × cols. */
    public static void apply(float[] w, int wOff, int rows, int cols, float[] x, float[] y) {
        check(w, wOff, rows, cols, x, y);
        RowChunks.run(rows, ROWS_PER_TASK, (long) rows * cols >= PARALLEL_THRESHOLD,
                (from, to) -> rows(w, wOff, cols, x, y, from, to));
    }

    /**
     * {@code y[t] = W·x[t]} for {@code n} rows of {@code x} (n × cols) into {@code y} (n × rows), each value
     * the same dot product as {@link #apply}; tiles of W rows stay in cache while every x row passes.
     */
    public static void applyBatch(float[] w, int wOff, int rows, int cols, float[] x, int n, float[] y) {
        if (n < 0 || (long) n * cols > x.length || (long) n * rows > y.length) {
            throw new IllegalArgumentException("batch of " + n + " rows: x " + x.length + ", y " + y.length
                    + " for " + rows + "x" + cols);
        }
        check(w, wOff, rows, cols, new float[cols], new float[rows]);
        RowChunks.run(rows, ROWS_PER_TASK, (long) rows * cols * n >= PARALLEL_THRESHOLD,
                (from, to) -> batchRows(w, wOff, rows, cols, x, n, y, from, to));
    }

    private static void batchRows(float[] w, int wOff, int rows, int cols, float[] x, int n, float[] y,
                                  int from, int to) {
        for (int t = 0; t < n; t++) {
            int xOff = t * cols;
            int yOff = t * rows;
            for (int r = from; r < to; r++) {
                y[yOff + r] = (float) dot(w, wOff + r * cols, x, xOff, cols);
            }
        }
    }

    private static void rows(float[] w, int wOff, int cols, float[] x, float[] y, int from, int to) {
        for (int r = from; r < to; r++) {
            int off = wOff + r * cols;
            y[r] = (float) dot(w, off, x, 0, cols);
        }
    }

    /** Reference: {@code Σ w[off+i]·x[xOff+i]} in float64, left to right. */
    public static double dotScalar(float[] w, int off, float[] x, int xOff, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += (double) w[off + i] * x[xOff + i];
        }
        return sum;
    }

    /** Vector API: floats widened to two double vectors, fused multiply-add into two accumulators. */
    public static double dotVector(float[] w, int off, float[] x, int xOff, int n) {
        DoubleVector acc0 = DoubleVector.zero(D);
        DoubleVector acc1 = DoubleVector.zero(D);
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector wv = FloatVector.fromArray(F, w, off + i);
            FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
            DoubleVector w0 = (DoubleVector) wv.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector w1 = (DoubleVector) wv.convertShape(VectorOperators.F2D, D, 1);
            DoubleVector x0 = (DoubleVector) xv.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector x1 = (DoubleVector) xv.convertShape(VectorOperators.F2D, D, 1);
            acc0 = w0.fma(x0, acc0);
            acc1 = w1.fma(x1, acc1);
        }
        double sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += (double) w[off + i] * x[xOff + i];
        }
        return sum;
    }

    /** Float64 dot product of two float vectors; picks the kernel like {@link #apply}. */
    public static double dot(float[] a, int aOff, float[] b, int bOff, int n) {
        return VECTOR ? dotVector(a, aOff, b, bOff, n) : dotScalar(a, aOff, b, bOff, n);
    }

    private static void check(float[] w, int wOff, int rows, int cols, float[] x, float[] y) {
        if (rows < 0 || cols < 0 || wOff < 0 || (long) wOff + (long) rows * cols > w.length
                || x.length < cols || y.length < rows) {
            throw new IllegalArgumentException("matvec " + rows + "x" + cols + " at " + wOff + " over " + w.length
                    + " weights, x " + x.length + ", y " + y.length);
        }
    }
}
