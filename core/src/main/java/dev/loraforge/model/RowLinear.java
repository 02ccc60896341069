package dev.loraforge.model;

/**
 * A projection whose weight stays where it is (a mapped file, quantized or not) and is turned into
 * float rows on the fly, one row at a time, so memory holds no float copy of the matrix. Each output is
 * the same {@link MatVec#dot} as {@link DenseLinear} over the same float row, so the two give the same bits.
 */
public abstract class RowLinear implements Linear {

    private static final int ROWS_PER_TASK = 64;

    private final int rows;
    private final int cols;

    protected RowLinear(int rows, int cols) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("rows and cols must be positive, got " + rows + "x" + cols);
        }
        this.rows = rows;
        this.cols = cols;
    }

    /** Writes row {@code r} of W (HF order, {@code cols} floats) into {@code dst[0..cols)}. */
    public abstract void row(int r, float[] dst);

    @Override
    public final int inFeatures() {
        return cols;
    }

    @Override
    public final int outFeatures() {
        return rows;
    }

    @Override
    public void apply(float[] x, float[] y) {
        applyBatch(x, y, 1);
    }

    @Override
    public void applyBatch(float[] x, float[] y, int n) {
        RowChunks.run(rows, ROWS_PER_TASK, (long) rows * cols * n >= MatVec.PARALLEL_THRESHOLD,
                (from, to) -> rows(x, y, n, from, to));
    }

    private void rows(float[] x, float[] y, int n, int from, int to) {
        float[] w = new float[cols];
        for (int r = from; r < to; r++) {
            row(r, w);
            for (int t = 0; t < n; t++) {
                y[t * rows + r] = (float) MatVec.dot(w, 0, x, t * cols, cols);
            }
        }
    }
}
